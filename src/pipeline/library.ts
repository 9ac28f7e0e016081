import { runChecks } from '../checks/engine.js';
import { HostFacts } from '../checks/facts.js';
import { checksFor } from '../checks/index.js';
import { HostKeyError, InterruptedError, OperationError, RefusedError } from '../kernel/errors.js';
import { readSchema, type ChangeStage } from './change.js';
import type { StageContext } from './stages.js';
import type { LoadedPatchSet } from '../config/patches.js';
import type { SafetyBackups, Target } from '../targets/target.js';

/**
 * The stages changes are made of. An operation (upgrade, rollback, restore,
 * promote) is a list of these; the pipeline wraps the ones after preflight
 * in the lock and the history record, and restores on failure.
 */

const mark = (status: string) => (status === 'pass' ? '✓' : status === 'warn' ? '!' : '✗');

/** Every check of the target, in parallel; a failed one refuses the change before anything happens. */
export function preflightStage(opts: { toVersion?: string; deployVersion?: string }): ChangeStage {
  return {
    id: 'preflight',
    title: 'Preflight checks',
    mutates: false,
    beforeLock: true,
    async run(run, ctx) {
      const { ws, target } = run;
      await settleHostKey(target);
      // The plan already settled what the rules say of a pre-release (--pre).
      const checks = checksFor(target).filter((c) => !c.standalone);
      const facts = new HostFacts(ws, target);
      const ctxChecks = {
        target,
        context: ws,
        runner: ws.runner,
        facts,
        toVersion: opts.toVersion,
        deployVersion: opts.deployVersion,
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
export function safetyBackupStage(backups: SafetyBackups, t: Target, version: string): ChangeStage[] {
  const off = backups.off;
  if (off) {
    return [
      {
        id: 'backup',
        title: `No safety backup (${off}): a failure cannot put the data of before back`,
        mutates: false,
        async run(r) {
          await r.record!.note({ safetyBackup: `none: ${off}` });
          return 'skipped';
        },
      },
    ];
  }
  const steps = backups.steps?.(t);
  let offsite: ((ctx: StageContext) => Promise<string>) | undefined;
  const backup: ChangeStage = {
    id: 'backup',
    title: steps?.copy ?? `Safety backup (${backups.describe(t)}), verified`,
    mutates: false,
    async run(r, ctx) {
      const b = await r.backups.create(r.target, version, ctx);
      offsite = b.offsite;
      r.safetyBackup = b.id;
      await r.record!.note({ backupId: b.id });
      // An app without a migration ledger has no mark: a failure then restores its backup.
      r.schemaBefore = await readSchema(r.target);
      if (r.schemaBefore) await r.record!.note({ schemaBefore: r.schemaBefore });
      return b.summary;
    },
  };
  if (!steps) return [backup];
  return [
    backup,
    {
      id: 'backup-offsite',
      title: steps.offsite,
      mutates: false,
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
export function restoreDatabaseStage(id: string, title: string, store?: string): ChangeStage {
  return {
    id: 'restore-db',
    title,
    mutates: true,
    async run(r, ctx) {
      // Only what the restore reached is undone: a restore that stopped before the swap left the live data alone.
      const reach = { appStopped: false, dataReplaced: false };
      let swapped;
      try {
        swapped = await r.backups.restore(r.target, id, ctx, reach, store);
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

/** The driver deploys `version` (the playbook, abra), with `patches` when given; its progress goes under the stage. */
export function deployStage(t: Target, version: string, title?: string, patches?: LoadedPatchSet | null): ChangeStage {
  return {
    id: 'apply',
    title: title ?? t.driver.describeDeploy(version),
    mutates: true,
    async run(r, ctx) {
      const changedBefore = r.changed;
      r.changed = true;
      const result = await t.driver.deploy(r.ws, t, {
        version,
        ...t.profile.deployInput(version, patches),
        logFile: r.logFile,
        signal: ctx.signal,
        report: ctx.report,
      });
      await r.record!.note({ [t.driver.id]: result.details, applied: result.summary });
      if (ctx.signal.aborted)
        throw new InterruptedError(`interrupted during: ${title ?? t.driver.describeDeploy(version)}`);
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

/** The profile's own idea of healthy at `version` (and the declared effects of `patches`), within its timeout. */
export function verifyStage(version: string, patches?: LoadedPatchSet | null): ChangeStage {
  return {
    id: 'verify',
    title: `Verify ${version} is healthy`,
    mutates: false,
    async run(r, ctx) {
      const v = await r.target.profile.verify(r.target, version, {
        ws: r.ws,
        patches,
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
