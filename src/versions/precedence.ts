/**
 * Semantic-versioning precedence (semver.org §11) on already-split parts, shared
 * by Mastodon versions and abra recipe versions.
 */
type Identifier = string | number;

export interface CoreVersion {
  major: number;
  minor: number;
  patch: number;
  /** Pre-release identifiers, empty for a release: `4.5.0-rc.1` → ['rc', 1]. */
  prerelease: readonly Identifier[];
}

function compareIdentifier(a: Identifier, b: Identifier): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b);
  // Numeric identifiers always have lower precedence than alphanumeric ones.
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePrerelease(a: readonly Identifier[], b: readonly Identifier[]): number {
  if (a.length === 0 || b.length === 0) return Math.sign(b.length - a.length);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i >= a.length) return -1;
    if (i >= b.length) return 1;
    const c = compareIdentifier(a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

export function compareCore(a: CoreVersion, b: CoreVersion): number {
  return (
    Math.sign(a.major - b.major) ||
    Math.sign(a.minor - b.minor) ||
    Math.sign(a.patch - b.patch) ||
    comparePrerelease(a.prerelease, b.prerelease)
  );
}

/**
 * Splits a dotted pre-release into identifiers, also splitting a word glued to
 * its number as older tags wrote them: `rc1` → ['rc', 1], `beta.2` → ['beta', 2].
 */
export function prereleaseIdentifiers(text: string): Identifier[] {
  const out: Identifier[] = [];
  for (const part of text.split('.')) {
    const glued = /^([A-Za-z]+)(\d+)$/.exec(part);
    if (glued) out.push(glued[1], Number(glued[2]));
    else if (/^\d+$/.test(part)) out.push(Number(part));
    else out.push(part);
  }
  return out;
}

export function formatPrerelease(ids: readonly Identifier[]): string {
  return ids.map(String).join('.');
}
