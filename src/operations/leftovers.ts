import {
  databaseLeftovers,
  judgeLeftovers,
  storeLeftovers,
  volumeLeftovers,
  withOwners,
  type Judgement,
  type Leftover,
} from '../backup/leftovers.js';
import type { BackupStore } from '../backup/store/types.js';
import { HostLock } from '../history/lock.js';
import { HistoryStore } from '../history/records.js';
import { backupSource } from '../targets/backupSource.js';
import { restoreTestHost } from '../workspace/restoreTest.js';
import type { Workspace } from '../workspace/workspace.js';

const HISTORY_LOOKBACK = 200;
/** backup.retention.leftovers unless set. */
const KEEP_LEFTOVERS_MS = 7 * 86_400_000;

/**
 * The leftovers of one service × environment, judged by retention: its replaced and restored databases (and
 * volumes' files) on its host, the scratch databases on the restore-test host, unfinished writes under its
 * prefix in the store. What was made since a live lock was taken is its holder's and stays. Without an
 * environment: the store's unfinished writes only (under the service's prefix, if any).
 */
export async function findLeftovers(
  ws: Workspace,
  o: { service?: string; env?: string; store: BackupStore; now: Date },
): Promise<Judgement[]> {
  const rules = { now: o.now, keepMs: ws.config.backup.retention.leftovers ?? KEEP_LEFTOVERS_MS };
  if (!o.service || !o.env) {
    return judgeLeftovers(await storeLeftovers(o.store, o.service ? `${o.service}/` : ''), rules);
  }
  const t = await ws.target(o.service, o.env);
  const source = backupSource(t);
  const [lock, records, live, volumes, fromStore] = await Promise.all([
    new HostLock(t.remote, t.paths.stateDir, o.service, o.env).status(),
    new HistoryStore(t.remote, t.paths.stateDir).list(o.service, o.env, HISTORY_LOOKBACK),
    databaseLeftovers(source.host, source.db, { live: source.db.name }),
    volumeLeftovers(t.remote, t.volumes),
    storeLeftovers(o.store, `${o.service}/${o.env}/`),
  ]);
  const found: Leftover[] = [...withOwners([...live, ...volumes], records), ...fromStore];
  if (ws.config.backup.restoreTest) {
    const rt = await restoreTestHost(ws);
    found.push(...(await databaseLeftovers(rt.host, rt.db, { scratch: true })));
  }
  return judgeLeftovers(found, { ...rules, lockedSince: lock.held && !lock.stale ? lock.since : null });
}
