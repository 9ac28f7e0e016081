import { fail, pass, type Check } from '../../checks/types.js';

export const abraCheck: Check = {
  id: 'abra',
  drivers: ['abra'],
  async run({ workspace }) {
    try {
      const v = await workspace.abra().abraVersion();
      return pass(`abra ${v.version}`);
    } catch (err) {
      return fail(`abra does not answer: ${(err as Error).message.split('\n')[0]}`, 'install abra (https://docs.coopcloud.tech/abra/install/) or set abra.bin in coopctl.yaml');
    }
  },
};

export const recipeCheckoutCheck: Check = {
  id: 'recipe-checkout',
  drivers: ['abra'],
  needs: ['abra'],
  async run({ workspace, target }) {
    if (target.driver !== 'abra') return pass('not an abra service');
    const recipe = target.serviceConfig.recipe;
    const c = await workspace.abra().recipeCheckoutClean(recipe);
    if (!c.clean) {
      return fail(
        `recipe checkout ${recipe} has local changes (${c.changes.slice(0, 3).join('; ')}): abra would refuse to upgrade or deploy them`,
        `look at them in abra's recipes/${recipe}; push them to the recipe upstream or discard them`,
      );
    }
    return pass(`recipe ${recipe} checkout is clean`);
  },
};

export const abraAppCheck: Check = {
  id: 'abra-app',
  drivers: ['abra'],
  needs: ['abra'],
  async run({ workspace, target }) {
    if (target.driver !== 'abra') return pass('not an abra service');
    const { server, domain } = target.envConfig;
    const apps = await workspace.abra().listApps(server);
    const app = apps.find((a) => a.domain === domain);
    if (!app) return fail(`${domain} is not an app of server ${server} according to abra`, `check recipes/ and abra's servers/${server}/${domain}.env`);
    if (app.status !== 'deployed') return fail(`${domain} is ${app.status ?? 'in an unknown state'}`, `deploy it first: abra app deploy ${domain}`);
    return pass(`${domain} deployed at ${app.version ?? 'an unknown version'}`);
  },
};
