import path from 'node:path';
import { fail, pass, warn } from '../../targets/check.js';
import { abraClient, abraConfig } from './app.js';
import { readAppEnv, sampleKeys } from './envFile.js';
import type { Check } from '../../targets/target.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The app's env file has every key of the `.env.sample` of the version it will run (--to, else the deployed one). */
export const envFileCheck: Check = {
  id: 'env-file',
  needs: ['abra'],
  async run({ context, target, facts, toVersion }) {
    const { recipe, server, domain } = abraConfig(target);
    const { file, env } = await readAppEnv(context, target);
    if (!env) {
      return fail(
        `${domain} has no env file: ${file} does not exist`,
        `copy it from the operator who created the app (abra app new ${recipe} on server ${server}), ` +
          'or set abra.dir in coopctl.yaml to where your abra keeps servers/',
      );
    }
    if (env.invalid.length) {
      return fail(
        `${file}:${env.invalid[0]}: not a KEY=value line (${plural(env.invalid.length, 'such line')})`,
        'fix or comment out the line; abra reads the file as a docker env file',
      );
    }
    const version = toVersion ?? (await facts.runningVersion());
    const abra = abraClient(context);
    const sample = await abra.recipes.fileAt(recipe, version, '.env.sample');
    if (sample === undefined) {
      const tagged = (await abra.recipeVersions(recipe)).some((r) => r.version === version);
      return warn(
        tagged
          ? `${recipe} ${version} has no .env.sample: nothing to compare ${path.basename(file)} with`
          : `${version} is not a tag of abra's ${recipe} clone: cannot read its .env.sample`,
        tagged ? undefined : `abra recipe fetch ${recipe}`,
      );
    }
    const keys = sampleKeys(sample);
    const missing = keys.filter((k) => !(k in env.vars));
    if (missing.length) {
      const clone = path.join(abra.cli.abraDir, 'recipes', recipe);
      return fail(
        `${file} lacks ${plural(missing.length, 'key')} of ${recipe} ${version}'s .env.sample: ${missing.join(', ')}`,
        `copy them from the sample (git -C ${clone} show ${version}:.env.sample), set their values, ` +
          'and run preflight again',
      );
    }
    return pass(`${path.basename(file)} has all ${keys.length} keys of ${recipe} ${version}'s .env.sample`);
  },
};
