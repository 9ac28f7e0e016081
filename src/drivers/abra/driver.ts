import { errorMessage } from '../../kernel/errors.js';
import type { AbraServiceConfig } from './config.js';
import { abraConfig } from './app.js';
import { abraSafetyBackups } from './backups.js';
import { appBackupCheck } from './backupCheck.js';
import { abraAppCheck, abraCheck, recipeCheckoutCheck, serversRepoCheck } from './checks.js';
import { commitPin } from './serversRepo.js';
import { abraServiceSchema, ssoConfigIssues } from './config.js';
import { deployApp, labelledVersion, settleApp } from './deploy.js';
import { ABRA_DOCTOR } from './doctor.js';
import { envFileCheck } from './envFileCheck.js';
import { scaleCommand, stackName } from './swarm.js';
import type { Driver } from '../../targets/target.js';

/** Co-op Cloud: abra with a recipe, on a Docker Swarm server. */
export const abraDriver: Driver = {
  id: 'abra',
  configSchema: abraServiceSchema,
  defaultDataDir: '/var/lib/docker',
  defaultProfile: 'coopcloud-app',
  checks: [abraCheck, recipeCheckoutCheck, abraAppCheck, envFileCheck, appBackupCheck, serversRepoCheck],
  doctor: ABRA_DOCTOR,
  configIssues: ssoConfigIssues,

  describeDeploy: (version) => `Deploy ${version} with abra (app upgrade or rollback, recipe checkout held)`,

  deploy: deployApp,

  settle: settleApp,

  /** abra rewrote the app's pin (TYPE=recipe:version): committed with the record id, pushed with abra.push. */
  async afterChange(context, t, c) {
    const change = `${t.service}/${t.env}: ${c.from} → ${c.to}`;
    const message = `coopctl ${c.operation} ${change}, ${c.status} (record ${c.record})`;
    return {
      serversRepo: await commitPin(context, t, message).catch((err: unknown) => ({ error: errorMessage(err) })),
    };
  },

  /** Scaled to 0 in the swarm: the next abra deploy (which a restore always runs) brings them back. */
  async stopServices(_ws, t, services) {
    const stack = stackName(abraConfig(t).domain);
    for (const s of services) {
      await t.remote.exec(scaleCommand(`${stack}_${s}`, 0), { mutates: true, timeoutMs: 5 * 60_000 });
    }
  },

  databaseService(svc, env, container) {
    return `${stackName((svc as AbraServiceConfig).environments[env].domain)}_${container}`;
  },

  // source: moby/moby issue #30483 ("docker stack deploy creates a new volume stackname_somevolume"), a volume
  // without its own `name:` in the compose file (the recipes' volumes have none)
  volumeName(svc, env, name) {
    return `${stackName((svc as AbraServiceConfig).environments[env].domain)}_${name}`;
  },

  /** Apps with a `database:` are dumped by coopctl; the others keep abra's own backups. */
  safetyBackups: (context, t) => (t.database ? undefined : abraSafetyBackups(context)),

  deployedVersion: labelledVersion,
};
