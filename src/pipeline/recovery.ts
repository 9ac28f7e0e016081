import { errorMessage, InterruptedError, OperationError } from '../kernel/errors.js';
import type { ChangeDeps, ChangeRun, ChangeStage, Ending } from './change.js';
import type { SchemaFit } from '../targets/profile.js';
import { guarded, noteBestEffort, readSchema, reportedVersion, schemaChanged } from './change.js';

/** How the database a failed change leaves behind is called in the report. */
const CHANGED = { upgrade: 'upgraded', promote: 'promoted', rollback: 'rolled-back', restore: 'replaced' } as const;

/** Waits until what the failed deploy started on the host has ended; returns why not, if it did not. */
async function settle(run: ChangeRun, deps: ChangeDeps, signal: AbortSignal): Promise<string | undefined> {
  const t = run.target;
  if (!t.driver.settle) return undefined;
  const stage: ChangeStage = {
    id: 'settle',
    title: `Let what the ${run.plan.operation} started on ${t.host.name} end`,
    mutates: false,
    run: async (r, ctx) => {
      await t.driver.settle!(r.ws, t, ctx.report, run.plan.from);
      return undefined;
    },
  };
  try {
    await deps.runner.run([guarded(stage, run, signal)], signal);
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

/** Whether the schema moved since the safety backup: true, false, or unknown when it cannot be told. */
async function schemaMoved(run: ChangeRun): Promise<boolean | 'unknown'> {
  const after = await readSchema(run.target);
  if (!after) return 'unknown';
  return !run.schemaBefore || schemaChanged(after, run.schemaBefore);
}

/**
 * Whether the version of before runs on the schema the failed change left: only when the profile can tell, and
 * says every migration that ran is one made for it (Mastodon's pre-deployment ones). Otherwise the backup goes back.
 */
async function schemaFit(run: ChangeRun): Promise<SchemaFit | undefined> {
  const { target: t, plan: p } = run;
  if (!t.profile.schemaFit) return undefined;
  try {
    return await t.profile.schemaFit(run.ws, t, p.from, p.to);
  } catch (err) {
    return { fits: false, reason: `cannot tell (${errorMessage(err)})`, pre: [], post: [], unknown: [] };
  }
}

/** Asks the host, not only the heartbeat: a lock taken away a moment ago must stop the restore too. */
async function lockStillHeld(run: ChangeRun): Promise<boolean> {
  if (!run.lock) return false;
  try {
    return await run.lock.stillHeld();
  } catch {
    return !run.lock.lost; // the host did not answer: the heartbeat's word stands
  }
}

/**
 * Back to the version that ran before, and to the safety backup when the database was replaced, or moved in a
 * way that version cannot run on; a database it runs on is kept, with what was written since the backup.
 */
function recoveryStages(run: ChangeRun, restoreDb: boolean, restored: string[]): ChangeStage[] {
  const { target: t, plan: p } = run;
  const stages: ChangeStage[] = [];
  const backup = run.safetyBackup;
  if (backup && restoreDb) {
    stages.push({
      id: 'restore-db',
      title: `Restore the database from before the ${p.operation} (${backup}; new database, then swap)`,
      mutates: true,
      async run(r, ctx) {
        const swapped = await r.view.backups.restore(t, backup, ctx, { appStopped: false, dataReplaced: false });
        const volumes = swapped.volumesKept?.length ? ` (its volumes' files as ${swapped.volumesKept.join(', ')})` : '';
        restored.push(
          `database restored from ${backup}; the ${CHANGED[p.operation]} one is kept as ${swapped.previous}${volumes}`,
        );
        return `${swapped.live} is the copy from before the ${p.operation}; ${swapped.previous} kept for inspection`;
      },
    });
  }
  stages.push({
    id: 'redeploy',
    title: `Deploy ${p.from} again`,
    mutates: true,
    async run(r, ctx) {
      const result = await t.driver.deploy(r.ws, t, {
        version: p.from,
        ...t.profile.deployInput(p.from, p.patchesBefore),
        logFile: r.logFile,
        report: ctx.report,
      });
      const patchSet = p.patchesBefore?.set ?? null;
      await noteBestEffort(r, { recoveryDeploy: { driver: t.driver.id, patchSet, ...result.details } });
      if (!result.ok) throw new OperationError(`deploying ${p.from} again failed: ${result.failure ?? 'see the log'}`);
      restored.push(`${p.from} deployed again`);
      return result.summary;
    },
  });
  stages.push({
    id: 'verify-previous',
    title: `Verify ${p.from} is healthy again`,
    mutates: false,
    async run(r, ctx) {
      const v = await t.profile.verify(t, p.from, { context: r.ws, patches: p.patchesBefore, onAttempt: ctx.report });
      await noteBestEffort(r, { recoveryVerification: v.details });
      if (!v.ok) throw new OperationError(`after the restore: ${v.summary}`);
      return v.summary;
    },
  });
  return stages;
}

/**
 * The lock was taken away (lock release --force): someone else may be working on the service now, so
 * nothing is restored behind their back. The service is left as it is and said to need attention.
 */
async function lockLost(run: ChangeRun, reason: string, restored: string[], failure: unknown): Promise<Ending> {
  const { plan: p } = run;
  const running = await reportedVersion(run);
  const done = restored.length ? `; done before the loss: ${restored.join('; ')}` : '';
  return {
    status: 'failed',
    note: `${reason}; NOT restored: the lock was lost`,
    fields: { lockLost: true },
    state:
      `NEEDS ATTENTION: ${p.service}/${p.env} reports ${running}; not restored, the lock was lost ` +
      `(released by someone else while this run held it)${done}; the safety backup is ${run.safetyBackup ?? 'none'}`,
    error: failure,
  };
}

/** The operator's answer to restoreOnFailure: ask; 'interrupted' when the question was (Ctrl-C at the prompt). */
async function askToRestore(deps: ChangeDeps): Promise<boolean | 'interrupted'> {
  if (!deps.confirmRestore) return false;
  try {
    return await deps.confirmRestore();
  } catch (err) {
    if (err instanceof InterruptedError) return 'interrupted';
    throw err;
  }
}

/** The command that takes the service on from where a failed change left it, for the report's fix. */
function wayOn(run: ChangeRun): string {
  const { plan: p } = run;
  const restored = p.recordFields.restoredBackup;
  const commands = {
    upgrade: `coopctl upgrade ${p.service} --env ${p.env} --to ${p.to}`,
    promote: `coopctl promote ${p.service} --to ${p.env}`,
    rollback: `coopctl rollback ${p.service} --env ${p.env} --to ${p.to}`,
    restore: `coopctl backup restore ${String(restored)} --into ${p.env}`,
  };
  return commands[p.operation];
}

/**
 * Ctrl-C at the restoreOnFailure: ask prompt: nobody decided, so nothing is restored, and the lock stays (it goes
 * stale once this run has ended) so that no one changes the service before someone has looked.
 */
async function unanswered(run: ChangeRun, reason: string, failure: unknown): Promise<Ending> {
  const { plan: p } = run;
  const running = await reportedVersion(run);
  const back =
    p.operation === 'restore'
      ? run.safetyBackup && `go back with coopctl backup restore ${run.safetyBackup} --into ${p.env}, or`
      : running === p.from
        ? `check it (coopctl status ${p.service} --env ${p.env}) and`
        : run.safetyBackup && `go back with coopctl rollback ${p.service} --env ${p.env} --to ${run.record!.id}, or`;
  return {
    status: 'cancelled',
    note: `${reason}; NOT restored: the question whether to restore was interrupted; the lock is kept`,
    fields: { lockKept: true },
    keepLock: true,
    state:
      `NEEDS ATTENTION: ${p.service}/${p.env} reports ${running}; not restored: the question whether to restore ` +
      'was interrupted. The lock is kept (stale once this run has ended). To fix: release it ' +
      `(coopctl lock release ${p.service} --env ${p.env} --force -m "after the interrupted ${p.operation}"), ` +
      `then ${back ? `${back} ` : ''}go on with ${wayOn(run)}`,
    error: failure,
  };
}

/**
 * The version of before cannot run on the database the failed change left (or it cannot be told), and there is
 * no safety backup to put back (backup.requiredBeforeChange: false): deploying it again would run older code on a
 * newer schema. Nothing more is done; the way on is to finish the change.
 */
function noBackup(
  run: ChangeRun,
  reason: string,
  migrated: boolean | 'unknown',
  fit: SchemaFit | undefined,
  failure: unknown,
): Ending {
  const { plan: p } = run;
  const why = run.databaseReplaced
    ? 'its database was replaced'
    : migrated === 'unknown'
      ? 'where its schema stands cannot be told'
      : `its schema moved: ${fit?.reason ?? 'migrations ran'}`;
  const replaced = run.databaseReplaced ? ' (the replaced database is kept renamed on the host)' : '';
  return {
    status: 'failed',
    note: `${reason}; NOT restored: ${p.from} cannot be deployed again (${why}) and there is no safety backup`,
    fields: { notRestored: 'no safety backup' },
    state:
      `NEEDS ATTENTION: ${p.service}/${p.env} is left as the failed ${p.operation} left it: ${why}, so ${p.from} ` +
      `may not run on it, and there is no safety backup to put back (${run.view.backups.off ?? 'none was taken'})` +
      `${replaced}. To fix: find what failed (the log), then run ${wayOn(run)} again`,
    error: failure,
  };
}

/**
 * After a failure once something changed: restore (or not, as
 * restoreOnFailure says), verify again, and say exactly where things stand.
 * Never without the lock.
 */
export async function recover(
  run: ChangeRun,
  deps: ChangeDeps,
  failure: unknown,
  interrupted: boolean,
): Promise<Ending> {
  const { plan: p } = run;
  const where = `${p.service}/${p.env}`;
  const reason = errorMessage(failure ?? 'interrupted');
  const stopped = interrupted ? 'cancelled' : 'failed';
  const running = () => reportedVersion(run);
  if (!(await lockStillHeld(run))) return lockLost(run, reason, [], failure);
  let policy = p.restoreOnFailure;
  if (policy === 'ask') {
    const answer = await askToRestore(deps);
    if (answer === 'interrupted') return unanswered(run, reason, failure);
    policy = answer ? 'auto' : 'never';
  }
  if (policy === 'never') {
    return {
      status: stopped,
      note: `${reason}; not restored (restoreOnFailure: never)`,
      state: `NOT restored: ${where} reports ${await running()}; the safety backup is ${run.safetyBackup ?? 'none'}`,
      error: failure,
    };
  }
  // A recovery is not interrupted by the Ctrl-C that may have caused it.
  const recovery = new AbortController().signal;
  const settled = await settle(run, deps, recovery);
  if (settled) {
    return {
      status: 'failed',
      note: `${reason}; NOT restored: ${settled}`,
      state: `NEEDS ATTENTION: ${where} not restored (${settled}); the safety backup is ${run.safetyBackup ?? 'none'}`,
      error: failure,
    };
  }
  const migrated = await schemaMoved(run);
  const fit = migrated === true && !run.databaseReplaced ? await schemaFit(run) : undefined;
  const keepDb = !run.databaseReplaced && (migrated === false || fit?.fits === true);
  await noteBestEffort(run, {
    failure: reason,
    migrationsRan: migrated,
    ...(fit ? { schemaFit: fit } : {}),
    ...(keepDb && fit ? { databaseKept: fit.reason } : {}),
  });
  if (!keepDb && !run.safetyBackup) return noBackup(run, reason, migrated, fit, failure);
  const restored: string[] = keepDb && fit ? [`database kept: ${fit.reason}`] : [];
  try {
    const stages = recoveryStages(run, !keepDb, restored).map((s) => guarded(s, run, recovery));
    await deps.runner.run(stages, recovery);
  } catch (err) {
    if (run.lock?.lost) return lockLost(run, reason, restored, failure);
    const msg = errorMessage(err);
    return {
      status: 'failed',
      note: `${reason}; RESTORE FAILED: ${msg}`,
      fields: { restoreError: msg },
      state:
        `RESTORE FAILED (${msg.split('\n')[0]}): ${where} reports ${await running()}; ` +
        `${restored.join('; ') || 'nothing was restored'}; safety backup ${run.safetyBackup ?? 'none'}`,
      error: failure,
    };
  }
  return {
    status: interrupted ? 'cancelled' : 'rolled-back',
    note: `${reason}; restored: ${restored.join('; ')}`,
    state: `restored: ${where} runs ${p.from} again, verified healthy (${restored.join('; ')})`,
    error: failure,
  };
}
