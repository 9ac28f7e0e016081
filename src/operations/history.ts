import { settleLimit } from '../kernel/concurrency.js';
import { errorMessage } from '../kernel/errors.js';
import type { Workspace } from '../workspace/workspace.js';
import { HostLock } from '../history/lock.js';
import { HistoryStore, type HistoryRecord } from '../history/records.js';

interface HistoryListing {
  records: HistoryRecord[];
  /** Hosts that could not be read: the listing is then incomplete, and says so. */
  problems: Array<{ service: string; env: string; message: string }>;
}

/**
 * Records of the selected service × environments, read from their hosts,
 * newest first. A `pending` record is only in progress while a live lock
 * is held; otherwise its run died and it reads as `interrupted`.
 */
export async function readHistory(
  ws: Workspace,
  filter: { service?: string; env?: string },
  limit: number,
): Promise<HistoryListing> {
  const selected = ws.select(filter);
  const problems: HistoryListing['problems'] = [];
  const results = await settleLimit(selected, ws.config.ssh.parallel, async ({ service, env }) => {
    const t = await ws.target(service, env);
    const [records, lock] = await Promise.all([
      new HistoryStore(t.remote, t.paths.stateDir).list(service, env, limit),
      new HostLock(t.remote, t.paths.stateDir, service, env).status(),
    ]);
    const live = lock.held && !lock.stale && lock.info?.kind === 'auto';
    let newestPendingSeen = false;
    return records.map((r) => {
      if (r.status !== 'pending') return r;
      if (live && !newestPendingSeen) {
        newestPendingSeen = true;
        return r;
      }
      return { ...r, status: 'interrupted' as const };
    });
  });
  const records: HistoryRecord[] = [];
  results.forEach((r, i) => {
    if (r.ok) records.push(...r.value);
    else problems.push({ ...selected[i], message: errorMessage(r.error) });
  });
  records.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
  return { records: records.slice(0, limit), problems };
}
