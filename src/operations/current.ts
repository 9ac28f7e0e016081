import { HostFacts } from '../checks/facts.js';
import { errorMessage } from '../kernel/errors.js';
import type { Finding } from '../targets/profile.js';
import type { Target } from '../targets/target.js';
import type { Workspace } from '../workspace/workspace.js';

/** The version a rollback or restore starts from; `finding` says so when it was not read from the running app. */
interface CurrentVersion {
  version: string;
  finding?: Finding;
}

/**
 * What runs, as the service reports it; when it does not answer (it is down:
 * the reason to roll back or restore), what the host's deployment names.
 */
export async function currentVersion(ws: Workspace, t: Target): Promise<CurrentVersion> {
  try {
    return { version: await new HostFacts(ws, t).runningVersion() };
  } catch (err) {
    if (!t.profile.deployedVersion) throw err;
    const version = await t.profile.deployedVersion(t).catch(() => {
      throw err;
    });
    const message =
      `${t.service}/${t.env} does not answer (${errorMessage(err).split('\n')[0]}): ` +
      `taking ${version} from its deployment on ${t.host.name}`;
    return { version, finding: { id: 'service-down', level: 'warn', message } };
  }
}
