import { compareAbraVersions, tryParseAbraVersion, type AbraVersion } from '../../versions/abraVersion.js';

/**
 * Recipe versions in the shape the abra driver works with;
 * parsing and ordering are src/versions/abraVersion.ts's. Releases are
 * `<recipe-semver>+<upstream>` ordered by the semver part, very old recipes
 * tagged `<upstream>_<n>`, and an untagged ("chaos") deployment reports 8 hex
 * digits of the recipe commit (`+U` when the tree was dirty).
 */
type RecipeVersion =
  | { kind: 'release'; text: string; semver: string; upstream?: string }
  | { kind: 'legacy'; text: string; upstream: string; revision: number }
  | { kind: 'chaos'; text: string; commit: string; dirty: boolean };

export type OrderedRecipeVersion = Exclude<RecipeVersion, { kind: 'chaos' }>;

function fromAbra(text: string, v: AbraVersion): RecipeVersion {
  switch (v.kind) {
    case 'chaos':
      return { kind: 'chaos', text, commit: v.commit, dirty: v.dirty };
    case 'legacy':
      return { kind: 'legacy', text, upstream: v.upstream, revision: v.revision };
    case 'release': {
      const plus = text.indexOf('+');
      return {
        kind: 'release',
        text,
        semver: (plus < 0 ? text : text.slice(0, plus)).replace(/^v/, ''),
        upstream: v.upstream,
      };
    }
  }
}

export function parseRecipeVersion(text: string): RecipeVersion | undefined {
  const v = tryParseAbraVersion(text);
  return v && fromAbra(text, v);
}

export function isOrdered(v: RecipeVersion): v is OrderedRecipeVersion {
  return v.kind !== 'chaos';
}

/** Legacy `<upstream>_<n>` tags predate every semver release of a recipe. */
export function compareRecipeVersions(a: OrderedRecipeVersion, b: OrderedRecipeVersion): number {
  return compareAbraVersions(tryParseAbraVersion(a.text)!, tryParseAbraVersion(b.text)!) ?? 0;
}

/** Parses and sorts version strings ascending; anything that is not an ordered version is dropped. */
export function sortRecipeVersionTexts(texts: Iterable<string>): OrderedRecipeVersion[] {
  const out: OrderedRecipeVersion[] = [];
  for (const t of texts) {
    const v = parseRecipeVersion(t);
    if (v && isOrdered(v)) out.push(v);
  }
  return out.sort(compareRecipeVersions);
}

/** The versions strictly between `from` (exclusive) and `to` (inclusive), ascending. */
export function versionsInRange(
  all: readonly OrderedRecipeVersion[],
  from: OrderedRecipeVersion | undefined,
  to: OrderedRecipeVersion,
): OrderedRecipeVersion[] {
  return all
    .filter((v) => (from === undefined || compareRecipeVersions(v, from) > 0) && compareRecipeVersions(v, to) <= 0)
    .sort(compareRecipeVersions);
}
