import { recordForcedRelease } from '../history/forcedRelease.js';
import { acquireAutoLock, describeHolder, HostLock } from '../history/lock.js';
import { errorMessage } from '../kernel/errors.js';
import {
  guarded,
  LOCK_STEP_ID,
  lockTitle,
  type ChangeDeps,
  type ChangeOutcome,
  type ChangeRun,
  type ChangeStage,
} from './change.js';
import { assertPlanHolds } from './planHolds.js';

/**
 * Kamal's with_lock: takes the target's lock (waiting, breaking a stale one
 * when the operator said so), checks the plan still holds, runs `inner`, and
 * releases the lock whatever happened. A lock that cannot be taken, or a plan
 * overtaken while waiting, throws (exit 4, exit 3) before anything changed.
 */
export async function withLock(
  run: ChangeRun,
  deps: ChangeDeps,
  inner: () => Promise<ChangeOutcome>,
): Promise<ChangeOutcome> {
  const t = run.target;
  const p = run.plan;
  const lock = new HostLock(t.remote, t.paths.stateDir, t.service, t.env);
  const take: ChangeStage = {
    id: LOCK_STEP_ID,
    title: lockTitle(p),
    mutates: true,
    run: async (_r, ctx) => {
      await acquireAutoLock(lock, {
        command: `${p.operation} ${t.service} --env ${t.env} --to ${p.to}`,
        version: p.to,
        waitMs: deps.lockWaitMs,
        signal: ctx.signal,
        onWait: (s) => ctx.report(`waiting for ${describeHolder(s)}`),
        breakStale: deps.breakStaleLock && {
          judged: deps.breakStaleLock,
          record: (outcome) =>
            recordForcedRelease(
              lock,
              deps.breakStaleLock!,
              outcome,
              'stale lock broken by the next run, confirmed at the terminal',
            ),
        },
      });
      run.lock = lock;
      try {
        await assertPlanHolds(run, ctx.report);
      } catch (err) {
        await lock.release().catch(() => {}); // the refusal is the news; a lock left behind goes stale
        throw err;
      }
      return 'held';
    },
  };
  await deps.runner.run([guarded(take, run, deps.signal)], deps.signal);
  let outcome: ChangeOutcome;
  try {
    outcome = await inner();
  } catch (err) {
    await lock.release().catch(() => {}); // coopctl broke: that error is the news; a lock left behind goes stale
    throw err;
  }
  if (outcome.lockKept) {
    lock.abandon();
    return outcome;
  }
  const unreleased = await releaseProblem(lock);
  return unreleased ? { ...outcome, state: `${outcome.state}; ${unreleased}` } : outcome;
}

/** What went wrong releasing the lock, said so the operator can act; undefined when it was released. */
async function releaseProblem(lock: HostLock): Promise<string | undefined> {
  const lost = lock.lost;
  try {
    if (await lock.release()) return undefined;
    // a lock taken away is already the news of the run (NEEDS ATTENTION)
    return lost ? undefined : "the lock was no longer this run's when it ended: see `coopctl lock status`";
  } catch (err) {
    return `the lock could NOT be released (${errorMessage(err).split('\n')[0]}): see \`coopctl lock status\``;
  }
}
