import { recordForcedRelease } from '../history/forcedRelease.js';
import { acquireAutoLock, describeHolder, HostLock } from '../history/lock.js';
import { guarded, LOCK_STEP_ID, lockTitle, type ChangeDeps, type ChangeRun, type ChangeStage } from './change.js';

/**
 * Kamal's with_lock: takes the target's lock (waiting, breaking a stale one
 * when the operator said so), runs `inner`, and releases the lock whatever
 * happened. A lock that cannot be taken throws (exit 4) before anything ran.
 */
export async function withLock<T>(run: ChangeRun, deps: ChangeDeps, inner: () => Promise<T>): Promise<T> {
  const t = run.target;
  const p = run.plan;
  const lock = new HostLock(t.remote, t.paths.stateDir, t.service, t.env);
  const take: ChangeStage = {
    id: LOCK_STEP_ID,
    title: lockTitle(t),
    mutates: true,
    run: async (_r, ctx) => {
      await acquireAutoLock(lock, {
        command: `${p.operation} ${t.service} --env ${t.env} --to ${p.to}`,
        version: p.to,
        waitMs: deps.lockWaitMs,
        signal: ctx.signal,
        onWait: (s) => ctx.report(`waiting for ${describeHolder(s)}`),
        breakStale: deps.breakStaleLock
          ? async (s) => {
              if (!(await deps.breakStaleLock!(s))) return false;
              const why = 'stale lock broken by the next run, confirmed at the terminal';
              await recordForcedRelease(t.remote, t.paths.stateDir, t.service, t.env, s, why);
              return true;
            }
          : undefined,
      });
      run.lock = lock;
      return 'held';
    },
  };
  await deps.runner.run([guarded(take, run, deps.signal)], deps.signal);
  try {
    return await inner();
  } finally {
    await lock.release().catch(() => {});
  }
}
