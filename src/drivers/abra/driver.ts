import { InputError, ToolOutputError } from '../../kernel/errors.js';
import type { Driver } from '../../targets/driver.js';
import { abraApp, abraConfig } from './app.js';
import { abraAppCheck, abraCheck, recipeCheckoutCheck } from './checks.js';
import { abraServiceSchema, ssoConfigIssues } from './config.js';
import { envFileCheck } from './envFileCheck.js';

const NOT_YET = 'changing abra apps through coopctl is not available in this version yet (use abra app upgrade)';

/** Co-op Cloud: abra with a recipe, on a Docker Swarm server. */
export const abraDriver: Driver = {
  id: 'abra',
  configSchema: abraServiceSchema,
  defaultDataDir: '/var/lib/docker',
  defaultProfile: 'coopcloud-app',
  checks: [abraCheck, recipeCheckoutCheck, abraAppCheck, envFileCheck],
  configIssues: ssoConfigIssues,
  cannotDeploy: NOT_YET,

  describeDeploy: (version) => `abra app upgrade to ${version}`,

  async deploy() {
    throw new InputError(NOT_YET);
  },

  async stopServices() {
    throw new InputError(NOT_YET);
  },

  async deployedVersion(ws, t) {
    const { server, domain } = abraConfig(t);
    const app = await abraApp(ws, t);
    if (!app) throw new ToolOutputError(`abra does not know ${domain} on ${server}`);
    if (!app.version) throw new ToolOutputError(`abra reports no version for ${domain}`);
    return app.version;
  },
};
