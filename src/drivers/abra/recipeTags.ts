/**
 * Reading a recipe's tags, through the driver's ProcessRunner. (The abra
 * double in test/doubles reads them on its own.)
 */
export const TAG_LIST_ARGS = [
  'for-each-ref',
  '--format=%(refname:strip=2)%09%(objecttype)%09%(creatordate:iso-strict)%09%(contents:subject)',
  'refs/tags',
] as const;

interface RecipeTag {
  name: string;
  /** Annotated tags (`git tag -a`) are how recipes are published; lightweight ones are tolerated. */
  annotated: boolean;
  date?: string;
  subject?: string;
}

export function parseTagListing(stdout: string): RecipeTag[] {
  const tags: RecipeTag[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const [name, type, date, ...subject] = line.split('\t');
    if (!name) continue;
    tags.push({
      name,
      annotated: type === 'tag',
      date: date || undefined,
      subject: subject.join('\t') || undefined,
    });
  }
  return tags;
}

/** Release notes live in `release/<exact-tag>` inside the recipe. */
export function releaseNotePath(tag: string): string {
  return `release/${tag}`;
}
