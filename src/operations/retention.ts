import { backupsInUse } from '../backup/inUse.js';
import type { KeepAlso } from '../backup/prune.js';
import { settleLimit } from '../kernel/concurrency.js';
import { errorMessage } from '../kernel/errors.js';
import type { Workspace } from '../workspace/workspace.js';

/**
 * What `backup prune` keeps whatever the retention says, for the service × environments it may touch: the backups
 * a change uses (backupsInUse), read from each target host. A host that cannot be read keeps all of its backups:
 * which of them a change needs cannot be told.
 */
export async function backupsChangesUse(ws: Workspace, filter: { service?: string; env?: string }): Promise<KeepAlso> {
  const pairs = Object.entries(ws.config.services)
    .filter(([service]) => !filter.service || service === filter.service)
    .flatMap(([service, svc]) =>
      Object.keys(svc.environments)
        .filter((env) => !filter.env || env === filter.env)
        .map((env) => ({ service, env })),
    );
  const read = await settleLimit(pairs, ws.config.ssh.parallel, async ({ service, env }) => {
    const t = await ws.target(service, env);
    return backupsInUse({ remote: t.remote, stateDir: t.paths.stateDir }, service, env);
  });
  const inUse = new Map<string, string>();
  const unread = new Map<string, string>();
  read.forEach((r, i) => {
    const group = `${pairs[i].service}/${pairs[i].env}`;
    if (r.ok) for (const [id, why] of r.value) inUse.set(`${group}/${id}`, why);
    else unread.set(group, `its lock and history could not be read (${errorMessage(r.error)}): kept`);
  });
  return (m) => unread.get(`${m.service}/${m.env}`) ?? inUse.get(`${m.service}/${m.env}/${m.id}`);
}
