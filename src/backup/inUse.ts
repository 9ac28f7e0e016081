import { describeHolder, HostLock } from '../history/lock.js';
import { HistoryStore, newestSucceededChange } from '../history/records.js';
import type { RemoteHost } from '../remote/ssh.js';

const HISTORY_LOOKBACK = 200;

/** Where a service × environment keeps its lock and history: the target host and its state dir. */
export interface HistoryHost {
  remote: RemoteHost;
  stateDir: string;
}

/**
 * The backups of a service × environment that no retention removes (the store's prune, the on-host copies'), each
 * with why: what a change running under a live lock uses (its safety backup, the backup it restores, the pre-change
 * backup of the change it undoes), and the pre-change backup of the newest succeeded change, which
 * `rollback --restore-db` restores.
 */
export async function backupsInUse(h: HistoryHost, service: string, env: string): Promise<Map<string, string>> {
  const [lock, records] = await Promise.all([
    new HostLock(h.remote, h.stateDir, service, env).status(),
    new HistoryStore(h.remote, h.stateDir).list(service, env, HISTORY_LOOKBACK),
  ]);
  const inUse = new Map<string, string>();
  const use = (id: unknown, why: string) => {
    if (typeof id === 'string' && id && !inUse.has(id)) inUse.set(id, why);
  };
  if (lock.held && !lock.stale) {
    const by = `under the live lock of ${describeHolder(lock)}`;
    for (const r of records.filter((x) => x.status === 'pending')) {
      use(r.backupId, `the safety backup of ${r.operation} ${r.id}, running ${by}`);
      use(r.details.restoredBackup, `restored by ${r.operation} ${r.id}, running ${by}`);
      const undone = records.find((x) => x.id === r.details.undoes);
      use(undone?.backupId, `the pre-change backup of ${undone?.id}, which ${r.operation} ${r.id} undoes ${by}`);
    }
  }
  const last = newestSucceededChange(records);
  use(
    last?.backupId,
    `the pre-change backup of ${last?.operation} ${last?.id}, the newest succeeded change (rollback)`,
  );
  return inUse;
}
