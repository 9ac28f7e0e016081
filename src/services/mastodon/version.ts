import { InputError } from '../../kernel/errors.js';
import { compareCore, formatPrerelease, prereleaseIdentifiers, type CoreVersion } from '../../versions/precedence.js';

/**
 * A Mastodon version as a tag (`v4.4.8`, `v4.2.0-rc1`, `v4.0.0rc1`) or as the
 * instance API reports it (`4.3.0+glitch`, `4.5.0+hometown-1.1.2`). Everything
 * after the first `+` is metadata: kept, shown, never used for ordering.
 */
export interface MastodonVersion extends CoreVersion {
  /** The text as given. */
  readonly raw: string;
  /** The part before the first `+`, without a leading `v`, spelled as upstream wrote it: `4.2.0-rc1`. */
  readonly upstream: string;
  /** What follows the first `+`: `glitch`, `hometown-1.1.2`. */
  readonly metadata?: string;
  /** `MAJOR.MINOR.PATCH` and nothing else before the `+`: never a beta, rc or alpha. */
  readonly stable: boolean;
}

export type VersionLike = string | MastodonVersion;

const NUM = '(0|[1-9]\\d*)';
// Pre-release either semver style (`-rc.1`, `-beta1`, `-alpha.0`) or glued on as 3.x–4.1 tags did (`rc1`).
const UPSTREAM = new RegExp(
  `^v?${NUM}\\.${NUM}\\.${NUM}(?:-([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)|((?:alpha|beta|rc)\\.?\\d+))?$`,
);
const METADATA = /^[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*$/;
const STABLE = /^v?\d+\.\d+\.\d+$/;

export function tryParseMastodonVersion(text: string): MastodonVersion | undefined {
  if (text.length > 128) return undefined;
  const plus = text.indexOf('+');
  const head = plus < 0 ? text : text.slice(0, plus);
  const metadata = plus < 0 ? undefined : text.slice(plus + 1);
  if (metadata !== undefined && !METADATA.test(metadata)) return undefined;
  const m = UPSTREAM.exec(head);
  if (!m) return undefined;
  const pre = m[4] ?? m[5];
  return {
    raw: text,
    upstream: head.replace(/^v/, ''),
    metadata,
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: pre === undefined ? [] : prereleaseIdentifiers(pre),
    stable: STABLE.test(head),
  };
}

/** @param source the flag or place the text came from, named in the error (`--to`, `the instance API`). */
export function parseMastodonVersion(text: string, source = 'version'): MastodonVersion {
  const v = tryParseMastodonVersion(text.trim());
  if (!v) {
    throw new InputError(
      `${source}: ${JSON.stringify(text)} is not a Mastodon version (expected e.g. 4.4.8, v4.5.0-rc.1 or 4.3.0+glitch)`,
      { code: 'bad-version' },
    );
  }
  return v;
}

export function asMastodonVersion(v: VersionLike, source = 'version'): MastodonVersion {
  return typeof v === 'string' ? parseMastodonVersion(v, source) : v;
}

/** Strict: a string must be `vX.Y.Z`/`X.Y.Z` before any `+`; `grep -v rc` is not enough (betas, alphas). */
export function isStable(v: VersionLike): boolean {
  if (typeof v !== 'string') return v.stable;
  return STABLE.test(v.split('+', 1)[0]);
}

/** Precedence only: metadata is ignored, so `4.3.0+glitch` equals `4.3.0`. */
export function compareMastodonVersions(a: MastodonVersion, b: MastodonVersion): number {
  return compareCore(a, b);
}

/** Sorted copy, by version (never by date: several series get patches in parallel). */
export function sortMastodonVersions<T extends MastodonVersion>(
  list: readonly T[],
  order: 'asc' | 'desc' = 'asc',
): T[] {
  const sign = order === 'asc' ? 1 : -1;
  return [...list].sort((a, b) => sign * (compareCore(a, b) || (a.raw < b.raw ? -1 : a.raw > b.raw ? 1 : 0)));
}

/** The minor series, `4.4`. */
export function seriesOf(v: MastodonVersion): string {
  return `${v.major}.${v.minor}`;
}

export function compareSeries(a: MastodonVersion, b: MastodonVersion): number {
  return Math.sign(a.major - b.major) || Math.sign(a.minor - b.minor);
}

/** The git tag of a version: `v4.4.8`, `v4.2.0-rc1` (old spellings kept, metadata dropped). */
export function tagOf(v: MastodonVersion): string {
  return `v${v.upstream}`;
}

/** As the instance API reports it: `4.4.8`, `4.5.0-rc.1`, `4.3.0+glitch`. */
export function displayOf(v: MastodonVersion): string {
  return v.metadata === undefined ? v.upstream : `${v.upstream}+${v.metadata}`;
}

/** Normalised semver (old pre-release spellings rewritten): `v4.0.0rc1` → `4.0.0-rc.1`. */
export function semverOf(v: MastodonVersion): string {
  const core = `${v.major}.${v.minor}.${v.patch}`;
  return v.prerelease.length ? `${core}-${formatPrerelease(v.prerelease)}` : core;
}

/** The highest stable version, optionally only within one series (`4.4`). */
export function newestStable<T extends MastodonVersion>(list: readonly T[], series?: string): T | undefined {
  let best: T | undefined;
  for (const v of list) {
    if (!v.stable || (series !== undefined && seriesOf(v) !== series)) continue;
    if (!best || compareCore(v, best) > 0) best = v;
  }
  return best;
}
