import type { RemoteHost } from '../remote/ssh.js';
import { describeHolder, type LockStatus } from './lock.js';
import { currentOperator } from './operator.js';
import { HistoryStore, newRecordId } from './records.js';

/** Breaking someone's lock is an operation of its own in the history, with the lock as it was. */
export async function recordForcedRelease(
  remote: RemoteHost,
  stateDir: string,
  service: string,
  env: string,
  broken: LockStatus,
  message?: string,
): Promise<void> {
  const now = new Date();
  await new HistoryStore(remote, stateDir).append(service, env, newRecordId('lock-force-release', now), {
    at: now.toISOString(),
    status: 'succeeded',
    note:
      `forced release of a lock held by ${describeHolder(broken)}` +
      `${broken.stale ? ` (stale: ${broken.staleReason})` : ''}`,
    fields: {
      service,
      env,
      operation: 'lock-force-release',
      operator: currentOperator().name,
      message: message ?? '',
      brokenLock: broken.info ?? null,
    },
  });
}
