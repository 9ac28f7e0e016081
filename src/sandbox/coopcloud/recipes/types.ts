/** One published version of a fixture recipe: the whole tree at its tag. */
export interface FixtureRelease {
  tag: string;
  /** Tagger/committer date, ISO 8601 (deterministic). */
  date: string;
  files: Record<string, string>;
}

export interface FixtureRecipe {
  name: string;
  releases: FixtureRelease[];
  /** The env file an operator would have for `domain` on `version` (from the .env.sample). */
  envFile(domain: string, version: string): string;
}

/** Release notes accumulate: every tree carries the notes of its own and all earlier releases. */
export function withNotes(files: Record<string, string>, notes: Record<string, string>, upTo: readonly string[]): Record<string, string> {
  const out = { ...files };
  for (const tag of upTo) if (notes[tag]) out[`release/${tag}`] = `${notes[tag].trim()}\n`;
  return out;
}

/** An operator's env file: the sample with the domain filled in and TYPE pinned to the deployed version. */
export function envFromSample(sample: string, recipe: string, domain: string, version: string): string {
  return sample
    .replace(/^TYPE=.*$/m, `TYPE=${recipe}:${version}`)
    .replace(/^DOMAIN=.*$/m, `DOMAIN=${domain}`);
}
