import { createBackup } from '../backup/create.js';
import { swapDatabases } from '../backup/database.js';
import type { Manifest } from '../backup/manifest.js';
import { progressText } from '../backup/progress.js';
import { restoreNames, restoreToNewDatabase } from '../backup/restore.js';
import { verifyBackup } from '../backup/verify.js';
import { runChecks } from '../checks/engine.js';
import { HostFacts } from '../checks/facts.js';
import { PREFLIGHT_CHECKS } from '../checks/index.js';
import type { CheckResult } from '../checks/types.js';
import { describeVerification, verifyMastodon, type VerificationResult } from '../services/mastodon/verify.js';
import { ansibleVersion } from '../drivers/ansible/tool.js';
import { runPlaybook, type PlaybookResult } from '../drivers/ansible/playbook.js';
import { compose } from '../services/mastodon/compose.js';
import { readSchemaMark, sameSchema, type SchemaMark } from '../services/mastodon/schema.js';
import { acquireAutoLock, describeHolder, HostLock, type LockStatus } from '../history/lock.js';
import { OperationRecord, repoCommit } from '../history/operation.js';
import { recordForcedRelease } from '../history/forcedRelease.js';
import { backupIdentities, encryptionSettings, openBackupStore, targetDb } from '../targets/backups.js';
import { coopctlVersion } from '../kernel/version.js';
import { errorMessage, InterruptedError, OperationError, RefusedError } from '../kernel/errors.js';
import type { Stage, StageRunner } from './stages.js';
import { formatBytes } from '../kernel/validate.js';
import type { AnsibleTarget, Workspace } from '../targets/workspace.js';
import type { UpgradePlan } from '../operations/upgrade/plan.js';

export interface UpgradeDeps {
  ws: Workspace;
  target: AnsibleTarget;
  stages: StageRunner;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  logFile: string;
  lockWaitMs?: number;
  /** Asked when the lock is stale (interactive runs); undefined: never break it silently. */
  breakStaleLock?: (s: LockStatus) => Promise<boolean>;
  /** For restoreOnFailure: ask. */
  confirmRestore?: () => Promise<boolean>;
  operation?: 'upgrade' | 'rollback' | 'promote' | 'restore';
  extraRecordFields?: Record<string, unknown>;
  /** Restore the pre-change database when rolling back a version (rollback: --restore-db). */
  restoreDbFrom?: Manifest;
}

export interface UpgradeOutcome {
  ok: boolean;
  status: 'succeeded' | 'failed' | 'rolled-back' | 'cancelled';
  record: ReturnType<OperationRecord['document']>;
  /** Exactly where things stand, in a sentence. */
  state: string;
  error?: unknown;
}

/** The compose services that hold database connections (the database itself keeps running). */
const APP_SERVICES = ['web', 'streaming', 'sidekiq'];

/** After SIGINT/SIGTERM no further stage starts (the stage runners would go on to the next one). */
function guarded(stage: Stage, lockLost: () => boolean): Stage {
  return {
    ...stage,
    run: (ctx) => {
      if (ctx.signal.aborted) throw new InterruptedError(`interrupted before: ${stage.title}`);
      if (lockLost()) throw new OperationError(`stopped before "${stage.title}": the lock was released by someone else (lock release --force) while this run held it`);
      return stage.run(ctx);
    },
  };
}

/** The most telling line of a failed task: an error line from its output, else its message. */
function failureLine(f: { msg?: string; stderr?: string | null; stdout?: string | null }): string {
  const lines = [f.stderr, f.stdout].flatMap((x) => (x ?? '').split('\n')).map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /PG::|ERROR:|manifest unknown/.test(l)) ?? lines.find((l) => /error|fatal|refus|denied|unknown/i.test(l) && !/--trace/.test(l)) ?? lines.at(-1) ?? f.msg ?? 'failed';
}


/**
 * preflight → lock → safety backup → apply → verify → record → unlock, and
 * on failure: restore (previous version; pre-upgrade database when the
 * schema moved) → verify again → record. Whatever happens, the lock is
 * released and the record ends with a final status.
 */
export class MastodonUpgrade {
  private readonly facts: HostFacts;
  private record?: OperationRecord;
  private lock?: HostLock;
  private backup?: Manifest;
  private schemaBefore?: SchemaMark;
  private applyStarted = false;
  private playbook?: PlaybookResult;
  private verification?: VerificationResult;
  private checks: CheckResult[] = [];
  private ansibleVersion?: string;

  constructor(
    private readonly d: UpgradeDeps,
    private readonly plan: UpgradePlan,
  ) {
    this.facts = new HostFacts(d.target);
  }

  private get t(): AnsibleTarget {
    return this.d.target;
  }

  private schemaMark(): Promise<SchemaMark> {
    return readSchemaMark(this.t.remote, targetDb(this.t));
  }

  private async deploy(version: string, ctx: Parameters<Stage['run']>[0], label: string): Promise<PlaybookResult> {
    const ws = this.d.ws;
    this.ansibleVersion ??= await ansibleVersion(ws.runner).catch(() => undefined);
    const result = await runPlaybook(ws.runner, {
      playbook: ws.loaded.resolvePath(this.t.serviceConfig.playbook),
      inventory: ws.loaded.resolvePath(this.t.envConfig.inventory),
      limit: [this.t.host.name],
      extraVars: { mastodon_version: version },
      diff: true,
      logFile: this.d.logFile,
      mitogen: true,
      ansibleVersion: this.ansibleVersion,
      signal: label === 'apply' ? ctx.signal : undefined,
      onEvent: (e) => {
        if (e.event === 'task_start') ctx.report(`TASK ${e.task}`);
        if (e.event === 'task_result' && (e.changed || e.status !== 'ok')) ctx.report(`  ${e.status === 'ok' ? 'changed' : e.status}: ${e.task}${e.msg && e.status !== 'ok' ? ` — ${e.msg.split('\n')[0]}` : ''}`);
      },
    });
    return result;
  }

  private mainStages(): Stage[] {
    const t = this.t;
    const ws = this.d.ws;
    const p = this.plan;
    return [
      {
        id: 'preflight',
        title: 'Preflight checks',
        mutates: false,
        run: async (ctx) => {
          // The lock stage that follows handles a held lock (waiting, exit 4). A syntax error stops
          // ansible-playbook before its first task, so apply itself is that check here; the
          // standalone `coopctl preflight` still runs --syntax-check.
          this.checks = await runChecks(PREFLIGHT_CHECKS.filter((c) => c.id !== 'lock' && c.id !== 'playbook-syntax'), { target: t, workspace: ws, runner: ws.runner, facts: this.facts, toVersion: this.d.operation === 'rollback' || this.d.operation === 'restore' ? undefined : p.to, allowPrerelease: true }, (r) =>
            ctx.report(`${r.status === 'pass' ? '✓' : r.status === 'warn' ? '!' : '✗'} ${r.id}: ${r.message}`),
          );
          const failed = this.checks.filter((c) => c.status === 'fail');
          // the rules refusing a pre-release were already settled by the plan (--pre)
          if (failed.length) throw new RefusedError(`preflight refused: ${failed.map((c) => `${c.id}: ${c.message}`).join('; ')}`, { hints: failed.flatMap((c) => (c.fix ? [c.fix] : [])) });
          const warns = this.checks.filter((c) => c.status === 'warn').length;
          return `${this.checks.length - warns} passed${warns ? `, ${warns} warnings` : ''}`;
        },
      },
      {
        id: 'lock',
        title: `Take the lock of ${t.service}/${t.env} on ${t.host.name}`,
        mutates: true,
        run: async (ctx) => {
          this.lock = new HostLock(t.remote, t.paths.stateDir, t.service, t.env);
          await acquireAutoLock(this.lock, {
            command: `${this.d.operation ?? 'upgrade'} ${t.service} --env ${t.env} --to ${p.to}`,
            version: p.to,
            waitMs: this.d.lockWaitMs,
            signal: ctx.signal,
            onWait: (s) => ctx.report(`waiting for ${describeHolder(s)}`),
            breakStale: this.d.breakStaleLock
              ? async (s) => {
                  if (!(await this.d.breakStaleLock!(s))) return false;
                  await recordForcedRelease(t.remote, t.paths.stateDir, t.service, t.env, s, 'stale lock broken by the next run, confirmed at the terminal');
                  return true;
                }
              : undefined,
          });
          this.record = new OperationRecord(t.remote, t.paths.stateDir, t.service, t.env, this.d.operation ?? 'upgrade');
          await this.record.start({
            from: p.from,
            to: p.to,
            host: t.host.name,
            configDigest: ws.loaded.digest,
            repoCommit: repoCommit(ws.loaded.dir),
            coopctlVersion: coopctlVersion(),
            releaseNotes: p.notes.map((n) => n.version),
            ...this.d.extraRecordFields,
          });
          return `held; history record ${this.record.id}`;
        },
      },
      {
        id: 'backup',
        title: 'Safety backup (database + .env.production), verified',
        mutates: false,
        run: async (ctx) => {
          const store = await openBackupStore(ws);
          const text = progressText();
          const source = { service: t.service, env: t.env, host: t.remote, db: targetDb(t), tables: t.serviceConfig.database.tables, secretsFile: `${t.paths.dataDir}/.env.production`, version: p.from };
          const manifest = await createBackup({
            source,
            store,
            encryption: encryptionSettings(ws),
            coopctlVersion: coopctlVersion(),
            onProgress: (pr) => ctx.title(`Safety backup: ${text(pr)}`),
            signal: ctx.signal,
          });
          const verified = await verifyBackup({ store, manifest, onProgress: (pr) => ctx.title(`Verifying the backup: ${text(pr)}`) });
          this.backup = verified.manifest;
          await this.record!.note({ backupId: manifest.id });
          this.schemaBefore = await this.schemaMark();
          await this.record!.note({ schemaBefore: this.schemaBefore });
          return `${manifest.id}, ${formatBytes(manifest.size)}, sha256 verified`;
        },
      },
      ...(this.d.restoreDbFrom
        ? [
            {
              id: 'restore-db',
              title: `Restore the database of ${this.d.restoreDbFrom.id} (taken before ${this.d.restoreDbFrom.version ?? '?'} was left; new database, then swap)`,
              mutates: true,
              run: async (ctx: Parameters<Stage['run']>[0]) => {
                this.applyStarted = true;
                const r = await this.restoreDatabase(this.d.restoreDbFrom!, ctx);
                await this.record!.note({ restoredDatabaseFrom: this.d.restoreDbFrom!.id, replacedDatabaseKeptAs: r.previous });
                return `${r.live} restored; the replaced one is kept as ${r.previous}`;
              },
            } satisfies Stage,
          ]
        : []),
      {
        id: 'apply',
        title: `Apply ${p.from} → ${p.to} with the playbook`,
        mutates: true,
        run: async (ctx) => {
          this.applyStarted = true;
          this.playbook = await this.deploy(p.to, ctx, 'apply');
          await this.record!.note({ ansible: this.ansibleSummary(this.playbook) });
          if (ctx.signal.aborted) throw new InterruptedError('interrupted during the playbook run');
          if (!this.playbook.ok) {
            const f = this.playbook.failures[0];
            throw new OperationError(`the playbook failed${f ? ` at "${f.task}": ${failureLine(f)}` : ` (exit ${this.playbook.exitCode})`}`, { hints: [`full log: ${this.d.logFile}`] });
          }
          return `${this.playbook.changedTasks.length} tasks changed (${this.playbook.strategy}${this.playbook.strategyNote ? `; ${this.playbook.strategyNote}` : ''})`;
        },
      },
      {
        id: 'verify',
        title: `Verify ${p.to} is healthy`,
        mutates: false,
        run: async (ctx) => {
          this.verification = await verifyMastodon(t.envConfig.health, p.to, { signal: ctx.signal, onAttempt: (cs) => ctx.report(cs.map((c) => `${c.ok ? '✓' : '✗'} ${c.message}`).join('  ')) });
          await this.record!.note({ verification: this.verification });
          if (ctx.signal.aborted) throw new InterruptedError('interrupted during verification');
          if (!this.verification.ok) throw new OperationError(`verification failed: ${describeVerification(this.verification)}`);
          return describeVerification(this.verification);
        },
      },
    ];
  }

  private ansibleSummary(r: PlaybookResult) {
    return { ok: r.ok, exitCode: r.exitCode, strategy: r.strategy, strategyNote: r.strategyNote ?? null, stats: r.stats ?? null, changedTasks: r.changedTasks, failures: r.failures.map((f) => ({ task: f.task, msg: f.msg ?? null })), log: r.logFile };
  }

  /** Backup → new database → stop the app → swap names. The replaced database is kept, renamed. */
  private async restoreDatabase(manifest: Manifest, ctx: Parameters<Stage['run']>[0]): Promise<{ live: string; previous: string }> {
    const t = this.t;
    const ws = this.d.ws;
    const store = await openBackupStore(ws);
    const db = targetDb(t);
    const names = restoreNames(db.name);
    const text = progressText();
    const restored = await restoreToNewDatabase({
      store,
      manifest,
      identities: await backupIdentities(ws),
      target: { host: t.remote, db },
      database: names.restored,
      onProgress: (pr) => ctx.title(`Restoring ${manifest.id}: ${text(pr)}`),
    });
    ctx.report(`restored into ${restored.database}; row counts match the backup`);
    // Nothing may hold the live database while it is renamed.
    await t.remote.exec(compose(t.paths.dataDir, 'stop', ...APP_SERVICES), { mutates: true });
    await swapDatabases(t.remote, db, { live: db.name, restored: names.restored, previous: names.previous });
    return { live: db.name, previous: names.previous };
  }

  /** Back to the version that ran before, with the pre-upgrade database when the schema moved. */
  private recoveryStages(state: { migrated: boolean | 'unknown'; restored: string[] }): Stage[] {
    const t = this.t;
    const p = this.plan;
    const stages: Stage[] = [];
    const recovery = new AbortController().signal;
    if (state.migrated !== false && this.backup) {
      stages.push({
        id: 'restore-db',
        title: `Restore the pre-upgrade database from ${this.backup.id} (new database, then swap)`,
        mutates: true,
        run: async (ctx) => {
          const r = await this.restoreDatabase(this.backup!, ctx);
          state.restored.push(`database restored from ${this.backup!.id}; the upgraded one is kept as ${r.previous}`);
          return `${r.live} is the pre-upgrade copy; ${r.previous} kept for inspection`;
        },
      });
    }
    if (this.applyStarted) {
      stages.push({
        id: 'redeploy',
        title: `Deploy ${p.from} again with the playbook`,
        mutates: true,
        run: async (ctx) => {
          const r = await this.deploy(p.from, { ...ctx, signal: recovery }, 'redeploy');
          await this.record!.note({ recoveryAnsible: this.ansibleSummary(r) });
          if (!r.ok) throw new OperationError(`redeploying ${p.from} failed at "${r.failures[0]?.task ?? '?'}"`);
          state.restored.push(`${p.from} deployed again`);
          return `${r.changedTasks.length} tasks changed`;
        },
      });
      stages.push({
        id: 'verify-previous',
        title: `Verify ${p.from} is healthy again`,
        mutates: false,
        run: async (ctx) => {
          const v = await verifyMastodon(t.envConfig.health, p.from, { onAttempt: (cs) => ctx.report(cs.map((c) => `${c.ok ? '✓' : '✗'} ${c.message}`).join('  ')) });
          await this.record!.note({ recoveryVerification: v });
          if (!v.ok) throw new OperationError(`after the restore: ${describeVerification(v)}`);
          return describeVerification(v);
        },
      });
    }
    return stages;
  }

  async execute(): Promise<UpgradeOutcome> {
    let r: Omit<UpgradeOutcome, 'record'>;
    try {
      r = await this.settle();
    } finally {
      await this.finishLock();
    }
    return { ...r, record: this.record!.document() };
  }

  private async settle(): Promise<Omit<UpgradeOutcome, 'record'>> {
    const p = this.plan;
    let failure: unknown;
    try {
      await this.d.stages.run(this.mainStages().map((st) => guarded(st, () => this.lock?.lost ?? false)), this.d.signal);
    } catch (err) {
      failure = err;
    }
    const interrupted = this.d.signal.aborted;
    try {
      if (!failure && !interrupted) {
        await this.record!.finish('succeeded', `${p.from} → ${p.to} verified`, { checks: this.checks });
        return this.outcome(true, 'succeeded', `${p.service}/${p.env} runs ${p.to}, verified healthy`);
      }
      if (!this.record) {
        // Refused before anything changed (preflight, lock): no record was started.
        throw failure ?? new InterruptedError();
      }
      const reason = errorMessage(failure ?? 'interrupted');
      if (!this.applyStarted) {
        await this.record.finish(interrupted ? 'cancelled' : 'failed', `stopped before any change: ${reason}`, { checks: this.checks });
        return this.outcome(false, interrupted ? 'cancelled' : 'failed', `nothing was changed: ${p.service}/${p.env} still runs ${p.from}`, failure);
      }
      let policy = p.restoreOnFailure;
      if (policy === 'ask') policy = this.d.confirmRestore && (await this.d.confirmRestore()) ? 'auto' : 'never';
      if (policy === 'never') {
        const running = await this.facts.runningVersion().catch(() => 'unknown');
        await this.record.finish(interrupted ? 'cancelled' : 'failed', `${reason}; not restored (restoreOnFailure: never)`, { checks: this.checks });
        return this.outcome(false, interrupted ? 'cancelled' : 'failed', `NOT restored: ${p.service}/${p.env} reports ${running}; the safety backup is ${this.backup?.id}`, failure);
      }
      let migrated: boolean | 'unknown' = 'unknown';
      try {
        const after = await this.schemaMark();
        migrated = !this.schemaBefore || !sameSchema(after, this.schemaBefore);
      } catch {
        migrated = 'unknown';
      }
      await this.record.note({ failure: reason, migrationsRan: migrated });
      const state = { migrated, restored: [] as string[] };
      try {
        await this.d.stages.run(this.recoveryStages(state), new AbortController().signal);
      } catch (restoreErr) {
        const running = await this.facts.runningVersion().catch(() => 'unknown');
        await this.record.finish('failed', `${reason}; RESTORE FAILED: ${errorMessage(restoreErr)}`, { checks: this.checks, restoreError: errorMessage(restoreErr) });
        return this.outcome(
          false,
          'failed',
          `RESTORE FAILED (${errorMessage(restoreErr).split('\n')[0]}): ${p.service}/${p.env} reports ${running}; ${state.restored.join('; ') || 'nothing was restored'}; safety backup ${this.backup?.id}`,
          failure,
        );
      }
      const status = interrupted ? 'cancelled' : 'rolled-back';
      await this.record.finish(status, `${reason}; restored: ${state.restored.join('; ')}`, { checks: this.checks });
      return this.outcome(false, status, `restored: ${p.service}/${p.env} runs ${p.from} again, verified healthy (${state.restored.join('; ')})`, failure);
    } catch (err) {
      if (this.record && this.record.status === 'pending') {
        await this.record.finish('failed', `coopctl could not finish cleanly: ${errorMessage(err)}`).catch(() => {});
      }
      throw err;
    }
  }

  private async finishLock(): Promise<void> {
    if (this.record) {
      try {
        const { readFile } = await import('node:fs/promises');
        const text = await readFile(this.d.logFile, 'utf8').catch(() => '');
        const ref = await this.record.attachLog(text);
        await this.record.note({ log: ref });
      } catch {
        // the log stays local; the record says where the operation ended
      }
    }
    await this.lock?.release().catch(() => {});
  }

  private outcome(ok: boolean, status: UpgradeOutcome['status'], state: string, error?: unknown): Omit<UpgradeOutcome, 'record'> {
    return { ok, status, state, error };
  }
}

