// source: coop-cloud/bonfire tags (its GitHub mirror bonfire-networks/bonfire-coop-cloud at 48e7e26, TAGS.tsv
// in the operators' data): annotated `<semver>+<upstream>` tags; legacy `<upstream>_<n>` and chaos = short
// commit hash: docs.coopcloud.tech resolution 013 ("If --chaos is passed, we use the short commit hash")
/**
 * Recipe versions as abra reads them (reference/abra.md), written here for
 * the double itself: it is the other side of coopctl's abra driver, so it
 * shares none of the driver's parsing.
 *
 * - A release tag is `<recipe-semver>+<upstream>` (`2.0.1+1.0.6-social-amd64`),
 *   ordered by the semver part before `+`; the upstream part is free-form.
 * - Very old recipes tagged `<upstream>_<n>` (`1.35.0_2`); those come before
 *   every semver release.
 * - A deployment of an untagged tree ("chaos") is the first 8 hex digits of
 *   the recipe's HEAD, `+U` when it had unstaged changes: it has no place in
 *   the order.
 */
export type RecipeVersion =
  | { kind: 'release'; text: string; core: [number, number, number]; prerelease: string[] }
  | { kind: 'legacy'; text: string; upstream: string; revision: number }
  | { kind: 'chaos'; text: string };

export type OrderedVersion = Exclude<RecipeVersion, { kind: 'chaos' }>;

const CHAOS = /^[0-9a-f]{8}(\+U)?$/;
const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
const LEGACY = /^([0-9A-Za-z][0-9A-Za-z.-]*)_(\d+)$/;

export function parseVersion(text: string): RecipeVersion | undefined {
  if (CHAOS.test(text)) return { kind: 'chaos', text };
  const plus = text.indexOf('+');
  const semver = SEMVER.exec(plus < 0 ? text : text.slice(0, plus));
  if (semver && (plus < 0 || /^[0-9A-Za-z._-]+$/.test(text.slice(plus + 1)))) {
    return {
      kind: 'release',
      text,
      core: [Number(semver[1]), Number(semver[2]), Number(semver[3])],
      prerelease: semver[4]?.split('.') ?? [],
    };
  }
  const legacy = LEGACY.exec(text);
  if (legacy) return { kind: 'legacy', text, upstream: legacy[1], revision: Number(legacy[2]) };
  return undefined;
}

export function isOrdered(v: RecipeVersion): v is OrderedVersion {
  return v.kind !== 'chaos';
}

const numeric = (s: string) => /^\d+$/.test(s);

/** One identifier of a pre-release or a free-form version: numbers by value, numbers before words, words as text. */
function compareIdentifier(a: string, b: string): number {
  if (numeric(a) && numeric(b)) return Math.sign(Number(a) - Number(b));
  if (numeric(a) !== numeric(b)) return numeric(a) ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semver precedence of the pre-release part: a release outranks its pre-releases. */
function comparePrerelease(a: readonly string[], b: readonly string[]): number {
  if (!a.length || !b.length) return Math.sign(b.length - a.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareIdentifier(a[i], b[i]);
    if (c) return c;
  }
  return Math.sign(a.length - b.length);
}

/** Free-form upstream versions of legacy tags (`1.39.1`, `v2.0-rc1`): runs of digits by value. */
function compareUpstream(a: string, b: string): number {
  const parts = (s: string) => s.replace(/^v/, '').match(/\d+|[^\d._-]+/g) ?? [];
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = numeric(pa[i]) !== numeric(pb[i]) ? (numeric(pa[i]) ? 1 : -1) : compareIdentifier(pa[i], pb[i]);
    if (c) return c;
  }
  return Math.sign(pa.length - pb.length);
}

export function compareVersions(a: OrderedVersion, b: OrderedVersion): number {
  if (a.kind === 'release' && b.kind === 'release') {
    for (let i = 0; i < 3; i++) if (a.core[i] !== b.core[i]) return Math.sign(a.core[i] - b.core[i]);
    return comparePrerelease(a.prerelease, b.prerelease);
  }
  if (a.kind === 'legacy' && b.kind === 'legacy')
    return compareUpstream(a.upstream, b.upstream) || Math.sign(a.revision - b.revision);
  return a.kind === 'legacy' ? -1 : 1;
}

/** Release notes are plain files `release/<exact-tag>` in the recipe. */
export function releaseNotePath(tag: string): string {
  return `release/${tag}`;
}
