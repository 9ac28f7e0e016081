import { errorMessage, InterruptedError } from '../kernel/errors.js';
import {
  guarded,
  readSchema,
  reportedVersion,
  type ChangeDeps,
  type ChangeOutcome,
  type ChangePlan,
  type ChangeRun,
  type Ending,
} from './change.js';
import { stagesOf } from './library.js';
import { withLock } from './lock.js';
import { withRecord } from './record.js';
import { recover } from './recovery.js';
import { HostView } from './view.js';

/**
 * plan ─ preflight ─ lock ─ (stages) ─ record ─ unlock, and on failure:
 * restore ─ verify ─ record. `withLock(withRecord(stages))`: whatever
 * happens, the record ends with a final status and the lock is released.
 * Refusals before the lock (preflight, a held lock) throw: nothing changed.
 */
export async function runChange(plan: ChangePlan, deps: ChangeDeps): Promise<ChangeOutcome> {
  const view = deps.view ?? new HostView(deps.ws, deps.target);
  const run: ChangeRun = {
    ws: deps.ws,
    target: deps.target,
    plan,
    view,
    logFile: deps.logFile,
    changed: false,
    databaseReplaced: false,
    checks: [],
  };
  const all = stagesOf(plan, view.backups);
  const stages = (beforeLock: boolean) =>
    all.filter((s) => !!s.beforeLock === beforeLock).map((s) => guarded(s, run, deps.signal));
  run.schemaPlanned = await readSchema(run.target);
  await deps.runner.run(stages(true), deps.signal);
  const observers = deps.observers ?? [];
  let started = false;
  let outcome: ChangeOutcome | undefined;
  try {
    outcome = await withLock(run, deps, () =>
      withRecord(run, async () => {
        started = true;
        for (const o of observers) o.started(run.record!.document());
        return afterChange(run, await ending(run, deps, stages));
      }),
    );
    return outcome;
  } finally {
    if (started) for (const o of observers) o.ended(outcome);
  }
}

/** What the deploy tool keeps after a change that touched the service (abra's pin), noted with the ending. */
async function afterChange(run: ChangeRun, end: Ending): Promise<Ending> {
  const t = run.target;
  if (!run.changed || !t.driver.afterChange) return end;
  const { operation, from, to } = run.plan;
  const summary = { record: run.record?.id ?? '', operation, status: end.status, from, to };
  const fields = await t.driver.afterChange(run.ws, t, summary);
  return { ...end, fields: { ...end.fields, ...fields } };
}

/** How the locked part of a change ended: its stages, then a recovery after a failure once something changed. */
async function ending(
  run: ChangeRun,
  deps: ChangeDeps,
  stages: (beforeLock: boolean) => ReturnType<typeof guarded>[],
): Promise<Ending> {
  const { plan } = run;
  let failure: unknown;
  try {
    await deps.runner.run(stages(false), deps.signal);
  } catch (err) {
    failure = err;
  }
  const interrupted = deps.signal.aborted;
  if (!failure && !interrupted) {
    return {
      status: 'succeeded',
      note: `${plan.from} → ${plan.to} verified`,
      state: `${plan.service}/${plan.env} runs ${plan.to}, verified healthy`,
    };
  }
  if (!run.changed) {
    // Read again, not taken from the plan: what runs now is what the report must say.
    const now = await reportedVersion(run);
    const where = `${plan.service}/${plan.env}`;
    return {
      status: interrupted ? 'cancelled' : 'failed',
      note: `stopped before any change: ${errorMessage(failure ?? new InterruptedError())}`,
      state: `nothing was changed: ${where} ${now === plan.from ? 'still runs' : 'reports'} ${now}`,
      error: failure,
    };
  }
  return recover(run, deps, failure, interrupted);
}
