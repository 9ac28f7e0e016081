import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { git } from './git.js';
import { bonfire } from './recipes/bonfire.js';
import { keycloak } from './recipes/keycloak.js';
import { mediawiki } from './recipes/mediawiki.js';
import type { FixtureRecipe } from './recipes/types.js';

export type { FixtureRecipe } from './recipes/types.js';

/** The recipes social.coop runs on hypha, as fixtures: bonfire, keycloak (auth), mediawiki (wiki, wiki-alpha). */
export const FIXTURE_RECIPES: readonly FixtureRecipe[] = [bonfire, keycloak, mediawiki];

export function fixtureRecipe(name: string): FixtureRecipe {
  const r = FIXTURE_RECIPES.find((x) => x.name === name);
  if (!r) throw new Error(`no fixture recipe "${name}" (have: ${FIXTURE_RECIPES.map((x) => x.name).join(', ')})`);
  return r;
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

/** Creates `recipesDir/<recipe>` git repos as abra keeps them in `$ABRA_DIR/recipes/`. */
export async function createRecipeRepos(recipesDir: string): Promise<void> {
  await Promise.all(FIXTURE_RECIPES.map((r) => createRecipeRepo(path.join(recipesDir, r.name), r)));
}
