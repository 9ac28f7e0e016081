import { runChecks } from '../checks/engine.js';
import { checksFor } from '../checks/index.js';
import { HostKeyError, InterruptedError, OperationError, RefusedError } from '../kernel/errors.js';
import { readSchema, type ChangePlan, type ChangeStage, type PlanStage } from './change.js';
import type { StageContext } from './stages.js';
import type { SafetyBackups, Target } from '../targets/target.js';

/**
 * The stages changes are made of. An operation (upgrade, rollback, restore, promote) plans a list of these as data
 * (the *Step functions); stagesOf makes the stages that run them. The pipeline wraps the ones after preflight in the
 * lock and the history record, and restores on failure.
 */

const mark = (status: string) => (status === 'pass' ? '✓' : status === 'warn' ? '!' : '✗');

/** Every check of the target, in parallel; a failed one refuses the change before anything happens. */
export function preflightStep(opts: { toVersion?: string; deployVersion?: string }): PlanStage {
  const { toVersion, deployVersion } = opts;
  return {
    id: 'preflight',
    title: 'Preflight checks',
    mutates: false,
    beforeLock: true,
    ...(toVersion !== undefined && { toVersion }),
    ...(deployVersion !== undefined && { deployVersion }),
  };
}

function preflightStage(step: PlanStage): ChangeStage {
  return {
    ...step,
    async run(run, ctx) {
      const { ws, target } = run;
      await settleHostKey(target);
      // The plan already settled what the rules say of a pre-release (--pre).
      const checks = checksFor(target).filter((c) => !c.standalone);
      const ctxChecks = {
        target,
        context: ws,
        runner: ws.runner,
        facts: run.view.facts,
        toVersion: step.toVersion,
        deployVersion: step.deployVersion,
        allowPrerelease: true,
      };
      run.checks = await runChecks(checks, ctxChecks, (r) => ctx.report(`${mark(r.status)} ${r.id}: ${r.message}`));
      const failed = run.checks.filter((c) => c.status === 'fail');
      if (failed.length) {
        throw new RefusedError(`preflight refused: ${failed.map((c) => `${c.id}: ${c.message}`).join('; ')}`, {
          hints: failed.flatMap((c) => (c.fix ? [c.fix] : [])),
        });
      }
      const warns = run.checks.filter((c) => c.status === 'warn').length;
      return `${run.checks.length - warns} passed${warns ? `, ${warns} warnings` : ''}`;
    },
  };
}

/**
 * A host key that does not match known_hosts is the operator's setup to fix (exit 2, as the README says),
 * not a refusal of this change: it is thrown before the checks. Any other SSH failure is the ssh check's to report.
 */
async function settleHostKey(target: Target): Promise<void> {
  try {
    await target.remote.exec(['true'], { mutates: false, timeoutMs: 30_000 });
  } catch (err) {
    if (err instanceof HostKeyError) throw err;
  }
}

/**
 * A verified backup of what runs now, and where the schema stands, before anything changes. In two stages when the
 * backups say so (a checked copy on the host, then offsite): the offsite stage waits for the copy, the deploy for both.
 */
export function safetyBackupSteps(backups: SafetyBackups, t: Target, version: string): PlanStage[] {
  if (backups.off) {
    const title = `No safety backup (${backups.off}): a failure cannot put the data of before back`;
    return [{ id: 'backup', title, mutates: false }];
  }
  const steps = backups.steps?.(t);
  const copy = steps?.copy ?? `Safety backup (${backups.describe(t)}), verified`;
  return [
    { id: 'backup', title: copy, mutates: false, version },
    ...(steps ? [{ id: 'backup-offsite' as const, title: steps.offsite, mutates: false }] : []),
  ];
}

/** The stages of the backup steps: the offsite one sends what the copy made. */
function safetyBackupStages(backups: SafetyBackups, copyStep: PlanStage, offsiteStep?: PlanStage): ChangeStage[] {
  const off = backups.off;
  if (off) {
    return [
      {
        ...copyStep,
        async run(r) {
          await r.record!.note({ safetyBackup: `none: ${off}` });
          return 'skipped';
        },
      },
    ];
  }
  let offsite: ((ctx: StageContext) => Promise<string>) | undefined;
  const backup: ChangeStage = {
    ...copyStep,
    async run(r, ctx) {
      const b = await r.view.backups.create(r.target, copyStep.version!, ctx);
      offsite = b.offsite;
      r.safetyBackup = b.id;
      await r.record!.note({ backupId: b.id });
      // An app without a migration ledger has no mark: a failure then restores its backup.
      r.schemaBefore = await readSchema(r.target);
      if (r.schemaBefore) await r.record!.note({ schemaBefore: r.schemaBefore });
      return b.summary;
    },
  };
  if (!offsiteStep) return [backup];
  return [
    backup,
    {
      ...offsiteStep,
      async run(r, ctx) {
        if (!offsite) throw new OperationError('internal: no on-host copy to send offsite');
        const summary = await offsite(ctx);
        await r.record!.note({ backupOffsite: summary });
        return summary;
      },
    },
  ];
}

/** Backup `id` in place of the live database (new database, app stopped, names swapped; the old one kept). */
export function restoreDatabaseStep(id: string, title: string, store?: string): PlanStage {
  return { id: 'restore-db', title, mutates: true, backup: id, ...(store !== undefined && { store }) };
}

function restoreDatabaseStage(step: PlanStage): ChangeStage {
  const id = step.backup!;
  return {
    ...step,
    async run(r, ctx) {
      // Only what the restore reached is undone: a restore that stopped before the swap left the live data alone.
      const reach = { appStopped: false, dataReplaced: false };
      let swapped;
      try {
        swapped = await r.view.backups.restore(r.target, id, ctx, reach, step.store);
      } finally {
        r.changed ||= reach.appStopped || reach.dataReplaced;
        r.databaseReplaced ||= reach.dataReplaced;
      }
      const volumes = swapped.volumesKept ?? [];
      await r.record!.note({
        restoredDatabaseFrom: id,
        replacedDatabaseKeptAs: swapped.previous,
        ...(volumes.length > 0 && { replacedVolumesKeptAs: volumes }),
      });
      return (
        `${swapped.live} restored; the replaced one is kept as ${swapped.previous}` +
        (volumes.length > 0 ? `, the volumes' files as ${volumes.join(', ')}` : '')
      );
    },
  };
}

/** The driver deploys `version` (the playbook, abra), with the plan's patches; its progress goes under the stage. */
export function deployStep(t: Target, version: string, title?: string): PlanStage {
  return { id: 'apply', title: title ?? t.driver.describeDeploy(version), mutates: true, version };
}

function deployStage(step: PlanStage): ChangeStage {
  const version = step.version!;
  return {
    ...step,
    async run(r, ctx) {
      const t = r.target;
      const changedBefore = r.changed;
      r.changed = true;
      const result = await t.driver.deploy(r.ws, t, {
        version,
        ...t.profile.deployInput(version, r.plan.patches),
        logFile: r.logFile,
        signal: ctx.signal,
        report: ctx.report,
      });
      await r.record!.note({ [t.driver.id]: result.details, applied: result.summary });
      if (ctx.signal.aborted) throw new InterruptedError(`interrupted during: ${step.title}`);
      const failure = result.failure ?? 'the deploy failed';
      if (!result.ok && result.changedNothing) {
        // Refused before any change: nothing to undo, no recovery deploy (exit 3 when nothing else changed).
        r.changed = changedBefore;
        throw new RefusedError(`${failure}; it changed nothing on ${t.host.name}`, { hints: result.hints });
      }
      if (!result.ok) throw new OperationError(failure, { hints: result.hints });
      return result.summary;
    },
  };
}

/** The profile's own idea of healthy at `version` (and the declared effects of the plan's patches). */
export function verifyStep(version: string): PlanStage {
  return { id: 'verify', title: `Verify ${version} is healthy`, mutates: false, version };
}

function verifyStage(step: PlanStage): ChangeStage {
  return {
    ...step,
    async run(r, ctx) {
      const v = await r.target.profile.verify(r.target, step.version!, {
        context: r.ws,
        patches: r.plan.patches,
        signal: ctx.signal,
        onAttempt: ctx.report,
      });
      await r.record!.note({ verification: v.details });
      if (ctx.signal.aborted) throw new InterruptedError('interrupted during verification');
      if (!v.ok) throw new OperationError(`verification failed: ${v.summary}`);
      return v.summary;
    },
  };
}

/** The stages that run a plan's steps, in its order. */
export function stagesOf(plan: ChangePlan, backups: SafetyBackups): ChangeStage[] {
  const offsite = plan.stages.find((s) => s.id === 'backup-offsite');
  const single = {
    preflight: preflightStage,
    'restore-db': restoreDatabaseStage,
    apply: deployStage,
    verify: verifyStage,
  };
  return plan.stages.flatMap((step) => {
    if (step.id === 'backup') return safetyBackupStages(backups, step, offsite);
    // made with the copy it sends
    if (step.id === 'backup-offsite') return [];
    return [single[step.id](step)];
  });
}
