import { printable } from '../kernel/validate.js';
import { type BreakOutcome, describeHolder, type HostLock, type LockStatus } from './lock.js';
import { currentOperator } from './operator.js';
import { HistoryStore } from './records.js';

/**
 * Breaking someone's lock is an operation of its own in the history, with the lock as it was judged, whatever came
 * of it: broken (succeeded), or not, because someone else broke it first or it was no longer that lock (failed).
 */
export async function recordForcedRelease(
  lock: HostLock,
  judged: LockStatus,
  outcome: BreakOutcome,
  message?: string,
): Promise<void> {
  const held = `a lock held by ${describeHolder(judged)}${judged.stale ? ` (stale: ${judged.staleReason})` : ''}`;
  await new HistoryStore(lock.remote, lock.stateDir).append(
    lock.service,
    lock.env,
    { operation: 'lock-force-release' },
    {
      status: outcome.broken ? 'succeeded' : 'failed',
      note: outcome.broken ? `forced release of ${held}` : `${breakRefusal(outcome)}: ${held}`,
      fields: {
        service: lock.service,
        env: lock.env,
        operation: 'lock-force-release',
        operator: currentOperator().name,
        message: message ?? '',
        brokenLock: judged.info ?? null,
      },
    },
  );
}

/** Why a break did nothing, as the refusal and the record say it. */
export function breakRefusal(outcome: Exclude<BreakOutcome, { broken: true }>): string {
  return outcome.reason === 'already-broken'
    ? `not broken: ${printable(outcome.by)} broke it first`
    : 'not broken: it was no longer the lock judged (released, or replaced by a new one)';
}
