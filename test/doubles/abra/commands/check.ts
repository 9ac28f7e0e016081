import type { ParsedArgs } from '../args.js';
import { fatal } from '../fatal.js';
import { abraDir, findApp } from '../home.js';
import { info, out } from '../log.js';
import { RecipeRepo } from '../recipeRepo.js';
import { definedKeys } from '../envFile.js';
import { boxTable } from '../table.js';

// source: operators' notes (reference/abra.md, U): `abra app check` compares the env file with the recipe's
// .env.sample; the table and message are the double's own
/** `abra app check`: every key the recipe's .env.sample defines must be in the app's env file (local only). */
export async function checkCommand(args: ParsedArgs): Promise<void> {
  const domain = args.positionals[0] ?? fatal('no app provided');
  const dir = abraDir();
  const app = findApp(dir, domain);
  const repo = new RecipeRepo(dir, app.recipe).requireExists();
  const at = app.pinned && repo.release(app.pinned) ? app.pinned : undefined;
  const sample =
    repo.readAt(at, '.env.sample') ?? fatal(`${app.recipe} has no .env.sample at ${at ?? 'its working tree'}`);
  const keys = definedKeys(sample);
  const missing = keys.filter((k) => !(k in app.vars));
  out(
    boxTable(
      [`${app.recipe} .env.sample`, domain],
      keys.map((k) => [k, k in app.vars ? 'ok' : 'missing']),
    ),
  );
  if (missing.length) fatal(`${domain} is missing env vars from the recipe's .env.sample: ${missing.join(', ')}`);
  info(`all necessary environment variables defined for ${domain}`);
}
