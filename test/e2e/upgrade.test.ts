import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import {
  processTree,
  SandboxMastodon,
  setHealthTimeout,
  signalTree,
  startCli,
  stderrSoFar,
  upgradeToBrokenRelease,
  waitFor,
} from '../helpers/upgradeSandbox.js';

/**
 * `coopctl upgrade` end to end on the sandbox: real sshd hosts, PostgreSQL,
 * the production playbook over Ansible, the local backup store. The tests
 * build on each other: alpha goes 4.4.7 → 4.4.8 → 4.5.0 → (4.5.1 fails,
 * restored) → (4.5.1 fails, and so does 4.5.0 again); prod stays at 4.4.7 for
 * the dry run, then 4.4.8 → (4.5.0 fails, restored). The failures there run only
 * pre-deployment migrations, which the old version runs on: the database is kept
 * (test/e2e/restores.test.ts has the post-deployment case, which restores it).
 */

interface UpgradeDoc {
  ok: boolean;
  state: string;
  record: {
    id: string;
    status: string;
    from: string;
    to: string;
    backupId: string | null;
    details: Record<string, unknown>;
  };
}
interface PlanDoc {
  ok: boolean;
  dryRun: boolean;
  plan: {
    from: string;
    to: string;
    notes: Array<{ version: string }>;
    findings: Array<{ id: string; level: string; message: string }>;
  };
}

let sb: TestSandbox;
let alpha: SandboxMastodon;
let prod: SandboxMastodon;

beforeAll(async () => {
  sb = await startSandbox();
  // A failing verification gives up after this long (the sandbox's default is 60s).
  setHealthTimeout(sb, '6s');
  alpha = new SandboxMastodon(sb, 'alpha');
  prod = new SandboxMastodon(sb, 'prod');
});

afterAll(async () => {
  await sb?.down();
});

describe('coopctl upgrade mastodon', () => {
  it('asks for --to and --yes by name when nobody is at a terminal (exit 2), changing nothing', async () => {
    const before = alpha.footprint();
    const noTarget = await sb.run(['upgrade', 'mastodon', '--env', 'alpha', '--yes']);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain('--to');
    expect(noTarget.stderr).toContain('4.4.7');

    const noYes = await sb.run(['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--no-check']);
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain('--yes');
    // the plan was still printed before the question
    expect(noYes.stdout).toContain('Plan: upgrade mastodon/alpha on alpha: 4.4.7 → 4.4.8');
    expect(alpha.footprint()).toEqual(before);
  });

  it('refuses skipping a minor series, and a pre-release unless --pre (exit 3); versions hides pre-releases unless --pre', async () => {
    const skip = await sb.run(['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.6.0', '--yes']);
    expect(skip.code).toBe(3);
    expect(skip.stderr).toMatch(/skips series 4\.5/);
    expect(skip.stderr).toContain('4.5.1');

    const pre = await sb.run(['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.0-rc.1', '--yes', '--no-check']);
    expect(pre.code).toBe(3);
    expect(pre.stderr).toContain('pre-release');
    expect(pre.stderr).toContain('--pre');

    const allowed = await sb.run([
      '--json',
      'upgrade',
      'mastodon',
      '--env',
      'alpha',
      '--to',
      '4.5.0-rc.1',
      '--pre',
      '--dry-run',
      '--no-check',
    ]);
    expect(allowed.code).toBe(0);
    const plan = json<PlanDoc>(allowed).plan;
    expect(plan).toMatchObject({ from: '4.4.7', to: '4.5.0-rc.1' });
    expect(plan.findings.find((f) => f.id === 'prerelease')).toMatchObject({ level: 'warn' });

    const listed = (r: Awaited<ReturnType<TestSandbox['run']>>) =>
      json<{ versions: Array<{ version: string; prerelease: boolean }> }>(r).versions;
    const stable = listed(await sb.run(['--json', 'versions', 'mastodon', '--env', 'alpha']));
    expect(stable.map((v) => v.version)).not.toContain('4.5.0-rc.1');
    expect(stable.every((v) => !v.prerelease)).toBe(true);
    const all = listed(await sb.run(['--json', 'versions', 'mastodon', '--env', 'alpha', '--pre']));
    expect(all.find((v) => v.version === '4.5.0-rc.1')).toMatchObject({ prerelease: true });
    expect(alpha.records()).toEqual([]);
  });

  it('--dry-run prints the plan (notes of every version in between, --check --diff) and changes nothing on the host', async () => {
    const before = prod.footprint();
    const r = await sb.run(['upgrade', 'mastodon', '--env', 'prod', '--to', '4.5.0', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Plan: upgrade mastodon/prod on prod: 4.4.7 → 4.5.0');
    // every stable version after 4.4.7 up to 4.5.0, newest first; the CHANGELOG has no section for 4.5.0-rc.1
    const headings = [...r.stdout.matchAll(/^## (\S+)/gm)].map((m) => m[1]);
    expect(headings).toEqual(['4.5.0', '4.4.8']);
    expect(r.stdout).toContain('Fix quote control bypass');
    expect(r.stdout).toMatch(/ansible-playbook --check --diff \(best effort/);
    // the diff reads in order, as Ansible wrote it
    expect(r.stdout).toContain(
      '  -    image: ghcr.io/mastodon/mastodon-streaming:v4.4.7\n  +    image: ghcr.io/mastodon/mastodon-streaming:v4.5.0\n',
    );
    expect(r.stdout).toMatch(/\* Run the playbook/);
    expect(r.stdout).toContain('--dry-run: stopping after the plan; nothing was changed.');

    const doc = json<PlanDoc>(
      await sb.run(['--json', 'upgrade', 'mastodon', '--env', 'prod', '--to', '4.5.0', '--dry-run']),
    );
    expect(doc).toMatchObject({ ok: true, dryRun: true, plan: { from: '4.4.7', to: '4.5.0' } });
    expect(doc.plan.notes.map((n) => n.version)).toEqual(['4.5.0', '4.4.8']);

    expect(prod.footprint()).toEqual(before);
    expect(existsSync(prod.lockDir)).toBe(false);
    expect(prod.records()).toEqual([]);
    expect(prod.backups()).toEqual([]);
    expect(await prod.running()).toEqual({ version: '4.4.7', healthy: true });
  });

  it('happy path: alpha 4.4.7 → 4.4.8 with --to --yes --json, recorded on the host with a verified safety backup', async () => {
    const rows = alpha.rowCounts();
    const r = await sb.run(['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const doc = json<UpgradeDoc>(r);
    expect(doc.ok).toBe(true);
    expect(doc.record).toMatchObject({ status: 'succeeded', from: '4.4.7', to: '4.4.8' });
    expect(doc.record.backupId).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]+$/);
    // the plan is still printed (on stderr under --json), with the release notes of 4.4.8
    expect(r.stderr).toContain('Plan: upgrade mastodon/alpha on alpha: 4.4.7 → 4.4.8');
    expect(r.stderr).toMatch(/^## 4\.4\.8 \(2025-10-21\) — SECURITY/m);

    expect(await alpha.running()).toEqual({ version: '4.4.8', healthy: true });
    expect(alpha.migrations()).toContain('20251017093000'); // 4.4.8's post-deployment migration
    expect(alpha.rowCounts()).toEqual(rows);

    const rec = alpha.record(doc.record.id);
    expect(rec).toMatchObject({
      operation: 'upgrade',
      status: 'succeeded',
      from: '4.4.7',
      to: '4.4.8',
      backupId: doc.record.backupId,
    });
    expect(rec.transitions.map((t) => t.status)).toEqual(['pending', 'succeeded']);
    expect(rec.details).toMatchObject({ verification: { ok: true, reportedVersion: '4.4.8' }, ansible: { ok: true } });
    expect(existsSync(path.join(alpha.stateDir, 'logs', `${doc.record.id}.log`))).toBe(true);
    expect(existsSync(alpha.lockDir)).toBe(false);

    const manifest = JSON.parse(
      readFileSync(path.join(sb.dir, 'backups', 'mastodon', 'alpha', doc.record.backupId!, 'manifest.json'), 'utf8'),
    );
    expect(manifest).toMatchObject({ id: doc.record.backupId, service: 'mastodon', env: 'alpha', version: '4.4.7' });
  });

  it('a second upgrade while one runs exits 4 naming the holder; one told to --lock-wait stops waiting on SIGINT (130); the first one finishes', async () => {
    const first = startCli(sb, [
      '--json',
      'upgrade',
      'mastodon',
      '--env',
      'prod',
      '--to',
      '4.4.8',
      '--yes',
      '--no-check',
    ]);
    await waitFor('the first run to take the lock', () => prod.lockInfo()?.command, 60_000);
    // Held still while the second run starts (a slow machine could otherwise let the first one finish
    // before the second reaches the lock); a few seconds are far from the 60s after which a lock is stale.
    const tree = processTree(first.pid!);
    signalTree(tree, 'SIGSTOP');
    let second;
    try {
      second = await sb.run(['upgrade', 'mastodon', '--env', 'prod', '--to', '4.4.8', '--yes', '--no-check']);

      // --lock-wait waits for an automatic lock, and SIGINT stops the waiting at once
      const waiting = startCli(sb, [
        'upgrade',
        'mastodon',
        '--env',
        'prod',
        '--to',
        '4.4.8',
        '--yes',
        '--no-check',
        '--lock-wait',
        '5m',
      ]);
      const progress = stderrSoFar(waiting);
      await waitFor('the third run to wait for the lock', () => progress().includes('waiting for'), 60_000);
      const interruptedAt = Date.now();
      waiting.kill('SIGINT');
      const w = await waiting;
      expect(w.exitCode, String(w.stderr)).toBe(130);
      expect(Date.now() - interruptedAt).toBeLessThan(5_000);
      expect(String(w.stderr)).toContain(
        'interrupted while waiting for the lock of mastodon/prod; nothing was changed',
      );
    } finally {
      signalTree(tree, 'SIGCONT');
    }
    expect(second.code).toBe(4);
    expect(second.stderr).toContain('mastodon/prod is locked by');
    expect(second.stderr).toContain('upgrade mastodon --env prod --to 4.4.8');
    expect(second.stderr).toContain('--lock-wait');
    expect(second.stderr).not.toContain('stale');

    const done = await first;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(json<UpgradeDoc>({ code: 0, stdout: String(done.stdout), stderr: '' }).record.status).toBe('succeeded');
    // the refused and the interrupted runs started no record of their own
    expect(prod.records().map((x) => x.status)).toEqual(['succeeded']);
    expect(existsSync(prod.lockDir)).toBe(false);
  });

  it('4.4.8 → 4.5.0 shows the notes in between and runs the post-deployment migrations', async () => {
    const r = await sb.run(['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.0', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const headings = [...r.stdout.matchAll(/^## (\S+)/gm)].map((m) => m[1]);
    // 4.5.0-rc.1 lies in between but is a pre-release without a CHANGELOG section: the stable notes are what is shown
    expect(headings).toEqual(['4.5.0']);
    expect(r.stdout).toContain('Remove support for PostgreSQL 13');
    expect(r.stdout).toContain('### coopctl upgrade mastodon/alpha: 4.4.8 → 4.5.0 — succeeded');
    // progress went to stderr, task by task
    expect(r.stderr).toContain('Run post-deployment database migrations');

    expect(await alpha.running()).toEqual({ version: '4.5.0', healthy: true });
    const migrations = alpha.migrations();
    expect(migrations).toEqual(expect.arrayContaining(['20250806104800', '20250822124818', '20250905140000']));
    // the post-deployment migration really ran: the column it drops is gone
    expect(
      alpha.psql(
        "select count(*) from information_schema.columns where table_name = 'users' and column_name = 'otp_secret'",
      ),
    ).toBe('0');
  });

  it('a failing pre-deployment migration ends restored: 4.4.8 redeployed on the database it runs on, exit 1, rolled-back', async () => {
    const rows = prod.rowCounts();
    const migrations = prod.migrations();
    await sb.fault('prod', 'migration-fails');
    try {
      const r = await sb.run([
        '--json',
        'upgrade',
        'mastodon',
        '--env',
        'prod',
        '--to',
        '4.5.0',
        '--yes',
        '--no-check',
      ]);
      expect(r.code, r.stderr).toBe(1);
      const doc = json<UpgradeDoc>(r);
      expect(doc.ok).toBe(false);
      expect(doc.record).toMatchObject({ status: 'rolled-back', from: '4.4.8', to: '4.5.0' });
      expect(doc.state).toMatch(/^restored: mastodon\/prod runs 4\.4\.8 again, verified healthy/);
      // the migration that failed ran in its transaction; the one before it is a pre-deployment one 4.4.8 runs on
      expect(doc.state).toContain('database kept: only pre-deployment migrations of 4.5.0 ran (20250806104800)');

      expect(await prod.running()).toEqual({ version: '4.4.8', healthy: true });
      expect(prod.rowCounts()).toEqual(rows);
      expect(prod.migrations()).toEqual([...migrations, '20250806104800'].sort());
      const rec = prod.record(doc.record.id);
      expect(rec.status).toBe('rolled-back');
      expect(rec.transitions.map((t) => t.status)).toEqual(['pending', 'rolled-back']);
      expect(rec.details).toMatchObject({
        migrationsRan: true,
        recoveryVerification: { ok: true, reportedVersion: '4.4.8' },
      });
      expect(rec.details.failure).toMatch(/Run pre-deployment database migrations.*PG::LockNotAvailable/);
      expect(existsSync(prod.lockDir)).toBe(false);
    } finally {
      await sb.fault('--clear', 'prod');
    }
  });

  it('a failing health check ends restored on 4.5.0, on the database its pre-deployment migration left (exit 1, rolled-back)', async () => {
    const rows = alpha.rowCounts();
    const migrations = alpha.migrations();
    const r = await upgradeToBrokenRelease(alpha, '4.5.1');
    expect(r.exitCode, String(r.stderr)).toBe(1);
    const doc = json<UpgradeDoc>({ code: 1, stdout: String(r.stdout), stderr: '' });
    expect(doc.record).toMatchObject({ status: 'rolled-back', from: '4.5.0', to: '4.5.1' });
    expect(doc.state).toMatch(/^restored: mastodon\/alpha runs 4\.5\.0 again/);

    expect(await alpha.running()).toEqual({ version: '4.5.0', healthy: true });
    expect(alpha.rowCounts()).toEqual(rows);
    // 4.5.1's pre-deployment migration ran before the health check failed; 4.5.0 runs on it: the database is kept
    expect(doc.state).toContain('database kept: only pre-deployment migrations of 4.5.1 ran (20251110120000)');
    expect(alpha.migrations()).toEqual([...migrations, '20251110120000'].sort());
    const rec = alpha.record(doc.record.id);
    expect(rec.status).toBe('rolled-back');
    expect(rec.details).toMatchObject({
      migrationsRan: true,
      verification: { ok: false },
      recoveryVerification: { ok: true },
    });
    expect(rec.details.failure).toMatch(/^verification failed: .*\/health: HTTP 503/);
    expect(existsSync(alpha.lockDir)).toBe(false);
  });

  it('when the old version is unhealthy too, the report says the restore failed and exactly what was done (exit 1, failed)', async () => {
    const migrations = alpha.migrations();
    await sb.fault('alpha', 'health-fails');
    let r;
    try {
      r = await sb.run(['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.1', '--yes', '--no-check']);
    } finally {
      await sb.fault('--clear', 'alpha');
    }
    expect(r.code, r.stderr).toBe(1);
    const doc = json<UpgradeDoc>(r);
    expect(doc.record).toMatchObject({ status: 'failed', from: '4.5.0', to: '4.5.1' });
    expect(doc.state).toMatch(/^RESTORE FAILED \(after the restore: not healthy after 6s: \/health: HTTP 503/);
    expect(doc.state).toContain('mastodon/alpha reports 4.5.0');
    // the schema did not move this time (4.5.1's migration ran, and was kept, the time before)
    expect(doc.state).toMatch(/\): mastodon\/alpha reports 4\.5\.0; 4\.5\.0 deployed again; safety backup/);
    expect(doc.state).toContain(`safety backup ${doc.record.backupId}`);
    const rec = alpha.record(doc.record.id);
    expect(rec.status).toBe('failed');
    expect(rec.details.restoreError).toMatch(/^after the restore: not healthy/);
    expect(existsSync(alpha.lockDir)).toBe(false);
    // what the report said is what the host has
    expect(await alpha.running()).toEqual({ version: '4.5.0', healthy: true });
    expect(alpha.migrations()).toEqual(migrations);
  });
});
