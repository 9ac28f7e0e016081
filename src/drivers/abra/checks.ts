import { fail, pass, type Check } from '../../targets/check.js';
import { abraApp, abraClient, abraConfig } from './app.js';

export const abraCheck: Check = {
  id: 'abra',
  async run({ workspace }) {
    try {
      const v = await abraClient(workspace).abraVersion();
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
  async run({ workspace, target }) {
    const { recipe } = abraConfig(target);
    const c = await abraClient(workspace).recipeCheckoutClean(recipe);
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
  async run({ workspace, target }) {
    const { server, domain } = abraConfig(target);
    const app = await abraApp(workspace, target);
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
