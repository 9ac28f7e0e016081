import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { configSchemaFor } from '../../../src/config/schema.js';
import { HostLock } from '../../../src/history/lock.js';
import { HistoryStore } from '../../../src/history/records.js';
import { ExecaRunner } from '../../../src/kernel/process.js';
import type { Manifest } from '../../../src/backup/manifest.js';
import { HostKeyError, InterruptedError, RefusedError } from '../../../src/kernel/errors.js';
import { planRestore } from '../../../src/operations/restore.js';
import { planUpgrade } from '../../../src/operations/upgrade.js';
import { HostView } from '../../../src/pipeline/view.js';
import { planSteps, type ChangeDeps, type ChangeOutcome, type ChangePlan } from '../../../src/pipeline/change.js';
import { runChange } from '../../../src/pipeline/run.js';
import { LineStageRunner } from '../../../src/pipeline/stages.js';
import type { Target } from '../../../src/targets/target.js';
import { Workspace } from '../../../src/workspace/workspace.js';
import { LocalHost } from '../../helpers/localHost.js';
import { fakeService, type Faults } from './fakeService.js';

/**
 * The pipeline's outcomes, in-process, with a made-up service profile and
 * driver: the real stages, lock, history record and restore on failure,
 * against files on this machine instead of a Mastodon host.
 */
const root = mkdtempSync(path.join(os.tmpdir(), 'coopctl-pipeline-'));
const dataDir = path.join(root, 'srv', 'bot');
const stateDir = path.join(root, 'state');
const faults: Faults = { failDeploy: new Set(), unhealthy: new Set() };
const { driver, profile } = fakeService(faults, path.join(root, 'backups'));
const registry = { drivers: new Map([[driver.id, driver]]), profiles: new Map([[profile.id, profile]]) };
const CONFIG = `stateDir: ${stateDir}
services:
  bot:
    driver: shell
    profile: boost-bot
    environments:
      prod: { inventory: inventory.yml, host: bothost }
`;

let ws: Workspace;
let target: Target;
const lines: string[] = [];
const file = (f: string) => readFileSync(path.join(dataDir, f), 'utf8');
const staleAfter = process.env.COOPCTL_LOCK_STALE_AFTER;

/** The plan of an upgrade as a run makes it: from a view of the target read for that run. */
async function planTo(to: string, w: Workspace = ws, t: Target = target): Promise<ChangePlan> {
  const view = new HostView(w, t);
  return planUpgrade(view, await view.versionChoice(false), to, false);
}

async function upgrade(to: string, signal = new AbortController().signal): Promise<ChangeOutcome> {
  return run(await planTo(to), { signal });
}

/** Runs a plan as the CLI does, its stage lines kept in `lines`. */
function run(plan: ChangePlan, more: Partial<ChangeDeps> = {}): Promise<ChangeOutcome> {
  return runChange(plan, {
    ws,
    target,
    runner: new LineStageRunner((l) => lines.push(l)),
    signal: new AbortController().signal,
    logFile: path.join(root, 'upgrade.log'),
    ...more,
  });
}

const history = () => new HistoryStore(target.remote, stateDir).list('bot', 'prod', 50);
const lockHeld = async () => (await new HostLock(target.remote, stateDir, 'bot', 'prod').status()).held;

beforeAll(async () => {
  // Heartbeats every 200 ms, so a lock taken away is noticed within a stage.
  process.env.COOPCTL_LOCK_STALE_AFTER = '0.8';
  writeFileSync(path.join(root, 'coopctl.yaml'), CONFIG);
  writeFileSync(
    path.join(root, 'inventory.yml'),
    `all:\n  hosts:\n    bothost:\n      ansible_host: 127.0.0.1\n      bot_dir: ${dataDir}\n`,
  );
  const loaded = parseConfigText(CONFIG, path.join(root, 'coopctl.yaml'), configSchemaFor([driver.configSchema]));
  ws = new Workspace(loaded, new ExecaRunner(false), registry);
  // Resolved as any target is (the profile names the data dir); only the host is this machine.
  target = { ...(await ws.target('bot', 'prod')), remote: new LocalHost() };
});

afterAll(() => {
  if (staleAfter === undefined) delete process.env.COOPCTL_LOCK_STALE_AFTER;
  else process.env.COOPCTL_LOCK_STALE_AFTER = staleAfter;
});

beforeEach(() => {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path.join(dataDir, 'version'), '1.0.0');
  writeFileSync(path.join(dataDir, 'schema'), '1.0.0\n');
  writeFileSync(path.join(dataDir, 'data'), 'post 1\npost 2\n');
  Object.assign(faults, {
    refuse: false,
    failBackup: false,
    duringBackup: undefined,
    duringDeploy: undefined,
    refuseDeploy: undefined,
    compatibleMigrations: undefined,
    duringRestore: undefined,
    restoreMismatch: undefined,
  });
  faults.failDeploy.clear();
  faults.unhealthy.clear();
  lines.length = 0;
});

describe('one pipeline, a made-up service and driver', () => {
  it('resolves the target through the registry: the profile and driver the config names, the data dir from the host', () => {
    expect(target.driver.id).toBe('shell');
    expect(target.profile.id).toBe('boost-bot');
    expect(target.paths.dataDir).toBe(dataDir);
    expect(target.database).toBeUndefined();
  });

  it('plans what runs: preflight, lock, the stages, record — the same list', async () => {
    const plan = await planTo('1.1.0');
    expect(planSteps(plan).map((s) => `${s.mutates ? '*' : ' '}${s.id}`)).toEqual([
      ' preflight',
      '*lock',
      ' backup',
      '*apply',
      ' verify',
      '*record',
    ]);
    expect(plan.stages.find((s) => s.id === 'apply')!.title).toBe('Install 1.1.0');
    expect(plan.notes.map((n) => n.version)).toEqual(['1.1.0']);
  });

  it('succeeded: deployed, verified, recorded on the host, lock released', async () => {
    const o = await upgrade('1.1.0');
    expect(o).toMatchObject({ ok: true, status: 'succeeded', state: 'bot/prod runs 1.1.0, verified healthy' });
    expect(file('version')).toBe('1.1.0');
    expect(o.record).toMatchObject({ operation: 'upgrade', from: '1.0.0', to: '1.1.0', status: 'succeeded' });
    expect(o.record.backupId).toMatch(/^backup-1\.0\.0-/);
    expect(o.record.details).toMatchObject({
      shell: { ok: true },
      verification: { ok: true },
      schemaBefore: { count: 1 },
    });
    expect((await history())[0]).toMatchObject({ id: o.record.id, status: 'succeeded' });
    expect(await lockHeld()).toBe(false);
  });

  it('refused in preflight: throws before the lock, leaves no record', async () => {
    faults.refuse = true;
    const before = (await history()).length;
    await expect(upgrade('1.1.0')).rejects.toBeInstanceOf(RefusedError);
    expect((await history()).length).toBe(before);
    expect(await lockHeld()).toBe(false);
    expect(file('version')).toBe('1.0.0');
  });

  it('a host key that does not match known_hosts stops preflight as bad input (exit 2), not as a refusal', async () => {
    const local = target.remote;
    const keyError = new HostKeyError('host key of bothost has CHANGED');
    // Only the connection probe meets the key: what the plan reads is unaffected.
    const exec: typeof local.exec = (cmd, opts) =>
      Array.isArray(cmd) && cmd.length === 1 && cmd[0] === 'true' ? Promise.reject(keyError) : local.exec(cmd, opts);
    target = {
      ...target,
      remote: { ...local, exec, stream: local.stream.bind(local), close: async () => {} },
    };
    try {
      const err = await upgrade('1.1.0').catch((e: unknown) => e);
      expect(err).toBe(keyError);
      expect((err as HostKeyError).exitCode).toBe(2);
    } finally {
      target = { ...target, remote: local };
    }
    expect(await lockHeld()).toBe(false);
    expect(file('version')).toBe('1.0.0');
  });

  it('failed before any change (the backup): recorded failed, nothing restored, lock released', async () => {
    faults.failBackup = true;
    const o = await upgrade('1.1.0');
    expect(o).toMatchObject({ ok: false, status: 'failed', state: 'nothing was changed: bot/prod still runs 1.0.0' });
    expect(lines.some((l) => l.startsWith('→ Install'))).toBe(false);
    expect(o.record.transitions.at(-1)!.note).toContain('stopped before any change: the backup disk is full');
    expect(await lockHeld()).toBe(false);
  });

  it('failed before any change: the report reads the service again, nothing taken from the plan', async () => {
    faults.failBackup = true;
    // The app stops answering while the run is under way: its version can no longer be read.
    faults.duringBackup = async () => rmSync(path.join(dataDir, 'version'));
    const o = await upgrade('1.1.0');
    expect(o).toMatchObject({ status: 'failed', state: 'nothing was changed: bot/prod reports unknown' });
  });

  it('failed in apply after migrating: the data of before put back, the old version again, rolled-back', async () => {
    faults.failDeploy.add('1.1.0');
    faults.duringDeploy = async (v) => {
      if (v === '1.1.0') writeFileSync(path.join(dataDir, 'data'), 'post 1\npost 2\nhalf-migrated\n');
    };
    const o = await upgrade('1.1.0');
    expect(o.status).toBe('rolled-back');
    expect(o.state).toMatch(
      /^restored: bot\/prod runs 1\.0\.0 again, verified healthy \(database restored from backup-/,
    );
    expect(file('version')).toBe('1.0.0');
    expect(file('data')).toBe('post 1\npost 2\n');
    expect(file('schema')).toBe('1.0.0\n');
    // the data the failed change left is kept, not thrown away
    expect(readdirSync(dataDir).some((f) => f.startsWith('data.before-'))).toBe(true);
    expect(o.record.details).toMatchObject({ migrationsRan: true, recoveryVerification: { ok: true } });
    expect(await lockHeld()).toBe(false);
  });

  it('failed in apply after migrations the old version runs on: the old version again, the data kept', async () => {
    faults.failDeploy.add('1.1.0');
    faults.compatibleMigrations = new Set(['1.1.0']);
    faults.duringDeploy = async (v) => {
      if (v === '1.1.0') writeFileSync(path.join(dataDir, 'data'), 'post 1\npost 2\nwritten during the upgrade\n');
    };
    const replaced = () => readdirSync(dataDir).filter((f) => f.startsWith('data.before-')).length;
    const replacedBefore = replaced();
    const o = await upgrade('1.1.0');
    expect(o.status).toBe('rolled-back');
    expect(o.state).toBe(
      "restored: bot/prod runs 1.0.0 again, verified healthy (database kept: 1.1.0's migrations ran, " +
        'which 1.0.0 runs on; 1.0.0 deployed again)',
    );
    expect(file('version')).toBe('1.0.0');
    expect(file('data')).toBe('post 1\npost 2\nwritten during the upgrade\n');
    expect(file('schema')).toBe('1.0.0\n1.1.0\n');
    expect(replaced()).toBe(replacedBefore);
    expect(o.record.details).toMatchObject({ migrationsRan: true, schemaFit: { fits: true } });
    expect(lines.some((l) => l.includes('Restore the database'))).toBe(false);
  });

  it('a deploy that stopped before changing anything: refused (nothing changed), no recovery', async () => {
    faults.refuseDeploy = new Set(['1.1.0']);
    const o = await upgrade('1.1.0');
    expect(o).toMatchObject({ ok: false, status: 'failed', changed: false });
    expect(o.state).toBe('nothing was changed: bot/prod still runs 1.0.0');
    expect(o.error).toBeInstanceOf(RefusedError);
    expect(o.record.transitions.at(-1)!.note).toBe(
      'stopped before any change: the bot token is missing; it changed nothing on bothost',
    );
    expect(lines.some((l) => l.includes('1.0.0 again'))).toBe(false);
    expect(await lockHeld()).toBe(false);
  });

  it('restore failed: the report says so and what was done', async () => {
    faults.failDeploy.add('1.1.0');
    faults.unhealthy.add('1.0.0');
    const o = await upgrade('1.1.0');
    expect(o.status).toBe('failed');
    expect(o.state).toMatch(
      /^RESTORE FAILED \(after the restore: not healthy: runs 1\.0\.0, crashing\): bot\/prod reports 1\.0\.0;/,
    );
    expect(o.state).toContain('1.0.0 deployed again');
    expect(o.record.details.restoreError).toContain('after the restore');
    expect(await lockHeld()).toBe(false);
  });

  it('interrupted mid-apply: no further stage starts, restored, cancelled', async () => {
    const ctl = new AbortController();
    faults.duringDeploy = async (v) => {
      if (v === '1.1.0') ctl.abort(new Error('SIGINT'));
    };
    const o = await upgrade('1.1.0', ctl.signal);
    expect(o.status).toBe('cancelled');
    expect(lines.some((l) => l.includes('Verify 1.1.0'))).toBe(false);
    expect(file('version')).toBe('1.0.0');
    expect(await lockHeld()).toBe(false);
  });

  /** Another operator's `lock release --force`. */
  const breakLock = async () => {
    const lock = new HostLock(target.remote, stateDir, 'bot', 'prod');
    await lock.breakLock(await lock.status());
  };

  it('lock taken away mid-run: stops before the next stage and, without the lock, restores nothing', async () => {
    faults.duringDeploy = async (v) => {
      if (v !== '1.1.0') return;
      await breakLock();
      await new Promise((r) => setTimeout(r, 600)); // a heartbeat or two
    };
    const o = await upgrade('1.1.0');
    expect(o.status).toBe('failed');
    expect(o.record.transitions.at(-1)!.note).toContain('the lock was released by someone else');
    expect(o.record.transitions.at(-1)!.note).toContain('NOT restored: the lock was lost');
    expect(o.state).toMatch(/^NEEDS ATTENTION: bot\/prod reports 1\.1\.0; not restored, the lock was lost/);
    expect(lines.some((l) => l.includes('Deploy 1.0.0 again'))).toBe(false);
    expect(file('version')).toBe('1.1.0');
  });

  it('lock taken away just before a failure, unseen by any heartbeat: the host is asked, nothing restored', async () => {
    faults.failDeploy.add('1.1.0');
    faults.duringDeploy = async (v) => {
      if (v === '1.1.0') await breakLock();
    };
    const o = await upgrade('1.1.0');
    expect(o).toMatchObject({ status: 'failed', changed: true });
    expect(o.state).toMatch(/^NEEDS ATTENTION: .* the lock was lost/);
    expect(o.record.details).toMatchObject({ lockLost: true });
    expect(file('version')).toBe('1.1.0');
  });

  it('another run finished while this one waited for the lock: refused (exit 3) before any change', async () => {
    const plan = await planTo('1.1.0');
    const other = new HostLock(target.remote, stateDir, 'bot', 'prod');
    await other.acquire({ command: 'upgrade bot --env prod --to 1.1.0', kind: 'auto' });
    setTimeout(() => {
      // the other operator's upgrade: deployed, migrated, released its lock
      writeFileSync(path.join(dataDir, 'version'), '1.1.0');
      writeFileSync(path.join(dataDir, 'schema'), '1.0.0\n1.1.0\n');
      void other.release();
    }, 300);
    const before = (await history()).length;
    const err = await run(plan, { lockWaitMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).exitCode).toBe(3);
    expect((err as Error).message).toContain('bot/prod runs 1.1.0 now, not 1.0.0 as planned');
    expect(lines.some((l) => l.startsWith('→ Safety backup'))).toBe(false);
    expect((await history()).length).toBe(before);
    expect(await lockHeld()).toBe(false);
  });

  it('the schema moved while this run waited (same version): refused before any change', async () => {
    const other = new HostLock(target.remote, stateDir, 'bot', 'prod');
    await other.acquire({ command: 'restore bot --env prod', kind: 'auto' });
    setTimeout(() => {
      writeFileSync(path.join(dataDir, 'schema'), '1.0.0\n1.0.0-hotfix\n');
      void other.release();
    }, 300);
    const plan = await planTo('1.1.0');
    const err = await run(plan, { lockWaitMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toMatch(/schema of bot\/prod moved since the plan .*1\.0\.0-hotfix/);
    expect(file('version')).toBe('1.0.0');
    expect(await lockHeld()).toBe(false);
  });

  it('a lock that cannot be released is reported in the outcome, not swallowed', async () => {
    const exec = target.remote.exec.bind(target.remote);
    target.remote.exec = (cmd, opts) =>
      Array.isArray(cmd) && String(cmd[2]).endsWith('rm -rf "$1/lock"')
        ? Promise.resolve({
            stdout: '',
            stderr: 'rm: cannot remove: Read-only file system',
            exitCode: 1,
            skipped: false,
          })
        : exec(cmd, opts);
    try {
      const o = await upgrade('1.1.0');
      expect(o.status).toBe('succeeded');
      expect(o.state).toContain('the lock could NOT be released (');
      expect(o.state).toContain('Read-only file system');
    } finally {
      target.remote.exec = exec;
      await breakLock();
    }
  });
});

/** A backup of bot/prod as the catalogue describes it (the made-up service's backups are its files). */
const manifestOf = (id: string, version: string) =>
  ({ id, service: 'bot', env: 'prod', version, createdAt: '2026-11-29T10:00:00Z' }) as unknown as Manifest;
const keptCopies = () => readdirSync(dataDir).filter((f) => f.startsWith('data.before-')).length;

describe('recovery undoes only what happened', () => {
  it('a restore whose copy does not match its backup stops before the swap: nothing to undo, the live data kept', async () => {
    const copies = keptCopies();
    // a member posts during the attempt: after the safety backup, before the restore fails
    faults.duringRestore = async () => writeFileSync(path.join(dataDir, 'data'), 'post 1\npost 2\nwritten meanwhile\n');
    faults.restoreMismatch = true;
    const o = await run(await planRestore(new HostView(ws, target), manifestOf('backup-1.0.0-1', '1.0.0')));
    expect(o).toMatchObject({ ok: false, status: 'failed', changed: false });
    expect(o.state).toBe('nothing was changed: bot/prod still runs 1.0.0');
    expect(o.record.transitions.at(-1)!.note).toMatch(/^stopped before any change: .*row counts differ/);
    expect(file('data')).toBe('post 1\npost 2\nwritten meanwhile\n');
    expect(keptCopies()).toBe(copies);
    expect(lines.some((l) => /Restore the database from before|Deploy 1\.0\.0 again/.test(l))).toBe(false);
    expect(o.record.details.migrationsRan).toBeUndefined();
    expect(await lockHeld()).toBe(false);
  });

  it('a backup taken on a newer release than the environment runs is refused by the plan, saying what to do', async () => {
    const plan = await planRestore(new HostView(ws, target), manifestOf('backup-1.1.0-1', '1.1.0'));
    expect(plan.findings.find((f) => f.id === 'backup-version')).toEqual({
      id: 'backup-version',
      level: 'fail',
      message:
        'backup backup-1.1.0-1 was taken on 1.1.0, newer than the 1.0.0 bot/prod runs: 1.0.0 would run on the newer ' +
        'schema of 1.1.0',
      fix: 'upgrade bot/prod to 1.1.0 first (coopctl upgrade bot --env prod --to 1.1.0), then restore the backup',
    });
    const same = await planRestore(new HostView(ws, target), manifestOf('backup-1.0.0-1', '1.0.0'));
    expect(same.findings.some((f) => f.id === 'backup-version')).toBe(false);
  });

  it('a hiccup writing a history note during recovery does not stop the restore; the note goes with the final status', async () => {
    faults.failDeploy.add('1.1.0');
    const exec = target.remote.exec.bind(target.remote);
    let refused = 0;
    target.remote.exec = (cmd, opts) => {
      if (String(opts?.stdin ?? '').includes('"migrationsRan"') && !String(opts?.stdin).includes('"status"')) {
        refused++;
        return Promise.reject(new Error('ssh: Connection reset by peer'));
      }
      return exec(cmd, opts);
    };
    let o: ChangeOutcome;
    try {
      o = await upgrade('1.1.0');
    } finally {
      target.remote.exec = exec;
    }
    expect(refused).toBe(1);
    expect(o.status).toBe('rolled-back');
    expect(file('version')).toBe('1.0.0');
    const onHost = (await history()).find((r) => r.id === o.record.id)!;
    expect(onHost.status).toBe('rolled-back');
    expect(onHost.details).toMatchObject({ migrationsRan: true, failure: 'migrating to 1.1.0 failed' });
  });

  it('Ctrl-C at the restoreOnFailure: ask question: NEEDS ATTENTION, nothing restored, the lock kept', async () => {
    faults.failDeploy.add('1.1.0');
    const plan = await planTo('1.1.0');
    const lock = new HostLock(target.remote, stateDir, 'bot', 'prod');
    try {
      const o = await run(
        { ...plan, restoreOnFailure: 'ask' },
        { confirmRestore: () => Promise.reject(new InterruptedError('interrupted at: Restore?')) },
      );
      expect(o.status).toBe('cancelled');
      expect(o.state).toBe(
        'NEEDS ATTENTION: bot/prod reports 1.1.0; not restored: the question whether to restore was interrupted. ' +
          'The lock is kept (stale once this run has ended). To fix: release it (coopctl lock release bot --env prod ' +
          `--force -m "after the interrupted upgrade"), then go back with coopctl rollback bot --env prod --to ` +
          `${o.record.id}, or go on with coopctl upgrade bot --env prod --to 1.1.0`,
      );
      expect(file('version')).toBe('1.1.0');
      expect(lines.some((l) => l.includes('Deploy 1.0.0 again'))).toBe(false);
      expect(o.record.details).toMatchObject({ lockKept: true });
      expect(o.record.transitions.at(-1)!.status).toBe('cancelled');
      const held = await lock.status();
      expect(held.held).toBe(true);
      // no heartbeat any more: the lock goes stale (COOPCTL_LOCK_STALE_AFTER is 0.8 s here)
      await new Promise((r) => setTimeout(r, 1500));
      expect((await lock.status()).stale).toBe(true);
    } finally {
      await lock.breakLock(await lock.status());
    }
  });
});

describe('backup.requiredBeforeChange: false', () => {
  it('is honoured: the plan says there is no safety backup, the stage is skipped and the record says so', async () => {
    const text = `${CONFIG}backup:\n  requiredBeforeChange: false\n`;
    const loaded = parseConfigText(text, path.join(root, 'coopctl.yaml'), configSchemaFor([driver.configSchema]));
    const noBackups = new Workspace(loaded, new ExecaRunner(false), registry);
    const t = { ...(await noBackups.target('bot', 'prod')), remote: target.remote };
    const plan = await planTo('1.1.0', noBackups, t);
    const step = planSteps(plan).find((s) => s.id === 'backup')!;
    expect(step.title).toContain('No safety backup (backup.requiredBeforeChange: false)');
    const o = await run(plan, { ws: noBackups, target: t });
    expect(o.status).toBe('succeeded');
    expect(o.record.backupId ?? null).toBeNull();
    expect(o.record.details).toMatchObject({ safetyBackup: 'none: backup.requiredBeforeChange: false' });
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^✓ No safety backup \(backup\.requiredBeforeChange: false\): a failure cannot put the data of before back: skipped \(\d+\.\ds\)$/,
      ),
    );
  });

  it('a failure after migrations the version of before cannot run on: NEEDS ATTENTION, no redeploy on that schema', async () => {
    const text = `${CONFIG}backup:\n  requiredBeforeChange: false\n`;
    const loaded = parseConfigText(text, path.join(root, 'coopctl.yaml'), configSchemaFor([driver.configSchema]));
    const noBackups = new Workspace(loaded, new ExecaRunner(false), registry);
    const t = { ...(await noBackups.target('bot', 'prod')), remote: target.remote };
    faults.failDeploy.add('1.1.0');
    const plan = await planTo('1.1.0', noBackups, t);
    const o = await run(plan, { ws: noBackups, target: t });
    expect(o.status).toBe('failed');
    expect(o.state).toBe(
      "NEEDS ATTENTION: bot/prod is left as the failed upgrade left it: its schema moved: 1.1.0's migrations ran, " +
        'so 1.0.0 may not run on it, and there is no safety backup to put back (backup.requiredBeforeChange: false). ' +
        'To fix: find what failed (the log), then run coopctl upgrade bot --env prod --to 1.1.0 again',
    );
    expect(lines.some((l) => l.includes('Deploy 1.0.0 again'))).toBe(false);
    expect(file('version')).toBe('1.1.0');
    expect(file('schema')).toBe('1.0.0\n1.1.0\n');
    expect(o.record.details).toMatchObject({ migrationsRan: true, notRestored: 'no safety backup' });
    expect(await lockHeld()).toBe(false);
  });
});

describe('the notices observer (the Matrix room)', () => {
  const observer = () => {
    const seen: string[] = [];
    return {
      seen,
      notices: {
        started: (r: { id: string; status: string }) => seen.push(`started ${r.id} ${r.status}`),
        ended: (o: ChangeOutcome | undefined) => seen.push(`ended ${o ? `${o.record.id} ${o.status}` : 'by an error'}`),
      },
    };
  };

  it('is told once the record exists, and once the change ended, whatever the ending', async () => {
    const ok = observer();
    const o = await run(await planTo('1.1.0'), { observers: [ok.notices] });
    expect(ok.seen).toEqual([`started ${o.record.id} pending`, `ended ${o.record.id} succeeded`]);

    faults.failDeploy.add('1.2.0');
    const failed = observer();
    const f = await run(await planTo('1.2.0'), { observers: [failed.notices] });
    expect(failed.seen).toEqual([`started ${f.record.id} pending`, `ended ${f.record.id} rolled-back`]);
  });

  it('is told of the end when the run throws after it started (a silence never outlives the change)', async () => {
    const seen = observer();
    const breaks = {
      started: () => {
        throw new Error('coopctl broke');
      },
      ended: () => {},
    };
    await expect(run(await planTo('1.1.0'), { observers: [seen.notices, breaks] })).rejects.toThrow('coopctl broke');
    const [rec] = await history();
    expect(seen.seen).toEqual([`started ${rec.id} pending`, 'ended by an error']);
    expect(rec.status).toBe('failed');
    expect(await lockHeld()).toBe(false);
  });

  it('hears nothing of a change refused before its lock: no record, nothing to tell', async () => {
    faults.refuse = true;
    const refused = observer();
    await expect(run(await planTo('1.1.0'), { observers: [refused.notices] })).rejects.toThrow(RefusedError);
    expect(refused.seen).toEqual([]);
  });
});
