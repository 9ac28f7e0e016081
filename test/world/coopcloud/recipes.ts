import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fixturePath } from '../paths.js';
import { git } from './git.js';

// source: coop-cloud/bonfire (mirror bonfire-networks/bonfire-coop-cloud at 48e7e26: compose.yml,
// compose.postgres.yml, compose.auth.openid.yml, .env.sample, release/ notes, annotated tags "chore: publish <v>
// release"); keycloak and mediawiki fixtures follow the same recipe layout (https://docs.coopcloud.tech/maintainers/)
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

/** The recipes social.coop runs on hypha: bonfire, keycloak (auth), mediawiki (wiki, wiki-alpha). */
const RECIPE_NAMES = ['bonfire', 'keycloak', 'mediawiki'] as const;

/** Every file below `dir`, by its path relative to `dir`. */
function readTree(dir: string, prefix = ''): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(path.join(dir, prefix)).sort()) {
    const rel = path.join(prefix, name);
    if (statSync(path.join(dir, rel)).isDirectory()) Object.assign(files, readTree(dir, rel));
    else files[rel] = readFileSync(path.join(dir, rel), 'utf8');
  }
  return files;
}

/** An operator's env file: the sample with the domain filled in and TYPE pinned to the deployed version. */
export function envFromSample(sample: string, recipe: string, domain: string, version: string): string {
  return sample.replace(/^TYPE=.*$/m, `TYPE=${recipe}:${version}`).replace(/^DOMAIN=.*$/m, `DOMAIN=${domain}`);
}

/**
 * test/fixtures/recipes/<name>/: `releases.json` lists the tags in order
 * (date, files removed at that tag); `<tag>/` holds the files the tag adds
 * or changes. A release's tree is the one before it with those applied.
 */
export function loadFixtureRecipe(name: string): FixtureRecipe {
  const dir = fixturePath('recipes', name);
  const listed = JSON.parse(readFileSync(path.join(dir, 'releases.json'), 'utf8')) as Array<{
    tag: string;
    date: string;
    removed?: string[];
  }>;
  let tree: Record<string, string> = {};
  const releases = listed.map(({ tag, date, removed = [] }) => {
    tree = Object.fromEntries(Object.entries(tree).filter(([file]) => !removed.includes(file)));
    tree = { ...tree, ...readTree(path.join(dir, tag)) };
    return { tag, date, files: tree };
  });
  return {
    name,
    releases,
    envFile: (domain, version) => {
      const release = releases.find((r) => r.tag === version) ?? releases[releases.length - 1];
      return envFromSample(release.files['.env.sample'] ?? '', name, domain, version);
    },
  };
}

export function fixtureRecipe(name: string): FixtureRecipe {
  if (!(RECIPE_NAMES as readonly string[]).includes(name))
    throw new Error(`no fixture recipe "${name}" (have: ${RECIPE_NAMES.join(', ')})`);
  return loadFixtureRecipe(name);
}

/** One commit per release with the release's whole tree, and an annotated tag `chore: publish <v> release`. */
export async function createRecipeRepo(dir: string, recipe: FixtureRecipe): Promise<void> {
  await mkdir(dir, { recursive: true });
  await git(dir, ['init', '-q', '-b', 'main']);
  let previous: string[] = [];
  for (const release of recipe.releases) {
    for (const gone of previous.filter((f) => !(f in release.files))) await rm(path.join(dir, gone), { force: true });
    for (const [file, text] of Object.entries(release.files)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), text, { mode: file.endsWith('.sh') ? 0o755 : 0o644 });
    }
    previous = Object.keys(release.files);
    const message = `chore: publish ${release.tag} release`;
    await git(dir, ['add', '-A'], release.date);
    await git(dir, ['commit', '-q', '-m', message], release.date);
    await git(dir, ['tag', '-a', release.tag, '-m', message], release.date);
  }
}

/** A fork of a recipe: a branch on a release with commits of its own (social.coop's wiki: its SSO). */
export interface RecipeFork {
  branch: string;
  commits: Array<{ message: string; date: string; files: Record<string, string> }>;
}

// source: reference/production.md (C: the wiki is deployed with `abra app deploy -C` from a recipe clone with a
// second remote, a fork with the co-op's own commits); abra @06a57de pkg/recipe/git.go:38-43 (a chaos deploy does
// not check the recipe out: it deploys the working tree as it is), read in recipe-maintainers/cc-ci JOURNAL-dstamp.md
/** The fork's branch on `base` in abra's clone, left checked out as a chaos deploy finds it; returns 8 hex of HEAD. */
export async function forkRecipe(dir: string, base: string, fork: RecipeFork): Promise<string> {
  await git(dir, ['checkout', '-q', '-b', fork.branch, `refs/tags/${base}`]);
  for (const c of fork.commits) {
    for (const [file, text] of Object.entries(c.files)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), text);
    }
    await git(dir, ['add', '-A'], c.date);
    await git(dir, ['commit', '-q', '-m', c.message], c.date);
  }
  return (await git(dir, ['rev-parse', '--short=8', 'HEAD'])).trim();
}

/** Creates `recipesDir/<recipe>` git repos as abra keeps them in `$ABRA_DIR/recipes/`. */
export async function createRecipeRepos(recipesDir: string): Promise<void> {
  await Promise.all(RECIPE_NAMES.map((name) => createRecipeRepo(path.join(recipesDir, name), loadFixtureRecipe(name))));
}
