import { fail, pass, warn } from '../../targets/check.js';
import { abraApp, abraClient, abraConfig } from './app.js';
import { serversDir, serversRepoState } from './serversRepo.js';
import type { Check } from '../../targets/target.js';

export const abraCheck: Check = {
  id: 'abra',
  async run({ context }) {
    try {
      const v = await abraClient(context).abraVersion();
      return pass(`abra ${v.version}`);
    } catch (err) {
      return fail(
        `abra does not answer: ${(err as Error).message.split('\n')[0]}`,
        'install abra (https://docs.coopcloud.tech/abra/install/) or set abra.bin in coopctl.yaml',
      );
    }
  },
};

export const recipeCheckoutCheck: Check = {
  id: 'recipe-checkout',
  needs: ['abra'],
  async run({ context, target }) {
    const { recipe } = abraConfig(target);
    const c = await abraClient(context).recipeCheckoutClean(recipe);
    if (!c.clean) {
      return fail(
        `recipe checkout ${recipe} has local changes (${c.changes.slice(0, 3).join('; ')}): ` +
          'abra would refuse to upgrade or deploy them',
        `look at them in abra's recipes/${recipe}; push them to the recipe upstream or discard them`,
      );
    }
    return pass(`recipe ${recipe} checkout is clean`);
  },
};

export const abraAppCheck: Check = {
  id: 'abra-app',
  needs: ['abra'],
  async run({ context, target }) {
    const { server, domain } = abraConfig(target);
    const app = await abraApp(context, target);
    if (!app) {
      return fail(
        `${domain} is not an app of server ${server} according to abra`,
        `check recipes/ and abra's servers/${server}/${domain}.env`,
      );
    }
    if (app.status !== 'deployed') {
      return fail(`${domain} is ${app.status ?? 'in an unknown state'}`, `deploy it first: abra app deploy ${domain}`);
    }
    return pass(`${domain} deployed at ${app.version ?? 'an unknown version'}`);
  },
};

/**
 * abra's servers directory is the operators' shared git repository: uncommitted changes there are pins and
 * settings no one else has; being behind its upstream means another operator's pin was not pulled, and abra
 * deploys what the env file here says.
 */
export const serversRepoCheck: Check = {
  id: 'servers-repo',
  needs: ['abra'],
  async run({ context, target }) {
    const dir = serversDir(context, target);
    const what = `servers/${abraConfig(target).server}`;
    const s = await serversRepoState(context, dir);
    if (!s.top) {
      return warn(
        `${what} is not in a git repository: the version pin this change leaves there reaches no other operator`,
        `keep ${dir} in git, shared by the operators (docs.coopcloud.tech/operators/handbook)`,
      );
    }
    const problems: string[] = [];
    if (s.changes.length) {
      const files = s.changes.slice(0, 3).map((l) => l.slice(3));
      problems.push(`${s.changes.length} uncommitted change(s) (${files.join(', ')})`);
    }
    if (!s.upstream) problems.push('no upstream: the pins committed here reach nobody');
    if (s.behind) problems.push(`${s.behind} commit(s) behind ${s.upstream}: another operator's pin is not pulled`);
    if (s.fetchError)
      problems.push(`${s.upstream} could not be fetched (${s.fetchError}): behind as of the last fetch`);
    if (problems.length) {
      return warn(`${what}: ${problems.join('; ')}`, `in ${dir}: git pull, then commit and push what is yours`);
    }
    return pass(`${what} is committed and up to date with ${s.upstream}`);
  },
};
