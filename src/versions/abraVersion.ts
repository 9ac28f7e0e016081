import { InputError } from '../kernel/errors.js';
import { compareCore, prereleaseIdentifiers, type CoreVersion } from './precedence.js';

/**
 * Co-op Cloud recipe versions as abra shows them:
 * - release `<recipe-semver>+<upstream>` (`2.0.1+1.0.6-social-amd64`), ordered by the semver part only;
 * - legacy `<upstream>_<n>` (`1.39.1_2`) from very old recipes;
 * - chaos: a deployment of an untagged tree, the first 8 hex digits of its
 *   commit (`a1b2c3d4`, `+U` when the tree had unstaged changes). Not orderable.
 */
export type AbraVersion =
  | { kind: 'release'; raw: string; recipe: CoreVersion; upstream?: string }
  | { kind: 'legacy'; raw: string; upstream: string; revision: number }
  | { kind: 'chaos'; raw: string; commit: string; dirty: boolean };

const NUM = '(0|[1-9]\\d*)';
const RELEASE = new RegExp(
  `^v?${NUM}\\.${NUM}\\.${NUM}(?:-([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?(?:\\+([0-9A-Za-z._-]+))?$`,
);
const LEGACY = /^([0-9A-Za-z][0-9A-Za-z.-]*)_(\d+)$/;
const CHAOS = /^([0-9a-f]{8})(\+U)?$/;

export function tryParseAbraVersion(text: string): AbraVersion | undefined {
  const chaos = CHAOS.exec(text);
  if (chaos) return { kind: 'chaos', raw: text, commit: chaos[1], dirty: chaos[2] !== undefined };
  const release = RELEASE.exec(text);
  if (release) {
    const recipe: CoreVersion = {
      major: Number(release[1]),
      minor: Number(release[2]),
      patch: Number(release[3]),
      prerelease: release[4] === undefined ? [] : prereleaseIdentifiers(release[4]),
    };
    return { kind: 'release', raw: text, recipe, upstream: release[5] };
  }
  const legacy = LEGACY.exec(text);
  if (legacy) return { kind: 'legacy', raw: text, upstream: legacy[1], revision: Number(legacy[2]) };
  return undefined;
}

/** @param source the flag or place the text came from (`--to`, `abra app ls`), named in the error. */
export function parseAbraVersion(text: string, source = 'version'): AbraVersion {
  const v = tryParseAbraVersion(text.trim());
  if (!v) {
    throw new InputError(
      `${source}: ${JSON.stringify(text)} is not a recipe version ` +
        '(expected e.g. 2.0.1+1.0.6-social-amd64, 1.39.1_2, or a chaos commit like a1b2c3d4)',
      { code: 'bad-version' },
    );
  }
  return v;
}

/** Loose ordering of free-form upstream versions (`1.39.1`, `v2.0-rc1`): number runs numerically, the rest as text. */
function compareLoose(a: string, b: string): number {
  const split = (s: string) =>
    s
      .replace(/^v/, '')
      .split(/[._-]/)
      .flatMap((p) => p.match(/\d+|\D+/g) ?? []);
  const pa = split(a);
  const pb = split(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (i >= pa.length) return -1;
    if (i >= pb.length) return 1;
    const na = /^\d+$/.test(pa[i]);
    const nb = /^\d+$/.test(pb[i]);
    const c =
      na && nb
        ? Math.sign(Number(pa[i]) - Number(pb[i]))
        : na !== nb
          ? na
            ? 1
            : -1
          : pa[i] < pb[i]
            ? -1
            : pa[i] > pb[i]
              ? 1
              : 0;
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Negative, zero or positive; undefined when a chaos version is involved and
 * the two are not the same commit (a commit has no place in the release order).
 * Legacy versions predate the `semver+upstream` scheme and sort below every release.
 */
export function compareAbraVersions(a: AbraVersion, b: AbraVersion): number | undefined {
  if (a.kind === 'chaos' || b.kind === 'chaos') {
    return a.kind === 'chaos' && b.kind === 'chaos' && a.commit === b.commit ? 0 : undefined;
  }
  if (a.kind === 'release' && b.kind === 'release') return compareCore(a.recipe, b.recipe);
  if (a.kind === 'legacy' && b.kind === 'legacy')
    return compareLoose(a.upstream, b.upstream) || Math.sign(a.revision - b.revision);
  return a.kind === 'legacy' ? -1 : 1;
}

/** Sorted copy of the orderable versions (chaos ones are left out). */
export function sortAbraVersions(list: readonly AbraVersion[], order: 'asc' | 'desc' = 'asc'): AbraVersion[] {
  const sign = order === 'asc' ? 1 : -1;
  return list
    .filter((v) => v.kind !== 'chaos')
    .sort((a, b) => sign * (compareAbraVersions(a, b)! || (a.raw < b.raw ? -1 : a.raw > b.raw ? 1 : 0)));
}

export function isAbraPrerelease(v: AbraVersion): boolean {
  return v.kind === 'release' && v.recipe.prerelease.length > 0;
}

/** For people: the version as abra spells it, chaos ones marked. */
export function displayAbraVersion(v: AbraVersion): string {
  if (v.kind !== 'chaos') return v.raw;
  return `${v.commit} (chaos${v.dirty ? ', unstaged changes' : ''})`;
}

/** The git tag of an orderable version (the tag is the version itself). */
export function abraTagOf(v: AbraVersion): string | undefined {
  return v.kind === 'chaos' ? undefined : v.raw;
}
