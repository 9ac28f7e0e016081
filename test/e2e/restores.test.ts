import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import {
  applyEvents,
  startCli,
  upgradeToBrokenRelease,
  useMastodonSandbox,
  waitFor,
} from '../helpers/upgradeSandbox.js';

/**
 * Failures that must not cost data or a needless redeploy, on the sandbox: a playbook that stops at its
 * assert changed nothing (exit 3, no recovery); an upgrade that failed after only pre-deployment migrations
 * ran goes back to the old version on the same database (what was written meanwhile stays), one whose
 * post-deployment migrations ran gets the backup back; a lookup the inventory needs a collection for is
 * caught in preflight. alpha: 4.4.7 → (secret missing) → (4.5.0 fails after its pre-deployment migrations,
 * database kept) → (4.5.0 fails after its post-deployment migrations, database restored) → 4.5.0 → 4.5.1 →
 * rolled back to 4.5.0 on the same database.
 */
interface ChangeDoc {
  ok: boolean;
  state: string;
  record: { id: string; status: string; from: string; to: string; details: Record<string, unknown> };
}

const w = useMastodonSandbox();

const upgrade = (env: string, to: string) =>
  w.sb.run(['--json', 'upgrade', 'mastodon', '--env', env, '--to', to, '--yes', '--no-check']);

describe('failures that changed nothing', () => {
  it('a playbook stopped by its assert (a secret missing from the inventory): nothing changed, exit 3, no redeploy', async () => {
    const before = w.alpha.footprint();
    await w.sb.fault('alpha', 'secret-missing');
    let r;
    try {
      // without --json: the stages as they run, on stderr
      r = await w.sb.run(['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--yes', '--no-check']);
    } finally {
      await w.sb.fault('--clear', 'alpha');
    }
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain('- **State:** nothing was changed: mastodon/alpha still runs 4.4.7');
    expect(r.stderr).toContain('Run the playbook with 4.4.8');
    expect(r.stderr).not.toMatch(/Deploy 4\.4\.7 again|Restore the database/);
    const rec = w.alpha.records().at(-1)!;
    expect(rec).toMatchObject({ status: 'failed', from: '4.4.7', to: '4.4.8' });
    expect(rec.transitions.map((t) => t.status)).toEqual(['pending', 'failed']);
    expect(rec.transitions.at(-1)!.note).toMatch(/^stopped before any change: .*lacks DB_PASS.*changed nothing/);
    expect(rec.details.ansible).toMatchObject({ changedNothing: true });
    // no recovery: neither a redeploy nor a restore ran
    expect(rec.details.recoveryDeploy).toBeUndefined();
    expect(rec.details.migrationsRan).toBeUndefined();
    expect(await w.alpha.running()).toEqual({ version: '4.4.7', healthy: true });
    const after = w.alpha.footprint();
    // the safety backup was taken (and its record written); nothing else on the host moved
    expect({ ...after, stateDir: null, backups: null }).toEqual({ ...before, stateDir: null, backups: null });
    expect(existsSync(w.alpha.lockDir)).toBe(false);
  });
});

/** Databases on the host besides the live one: what a restore's swap keeps (`mastodon_production_before_*`). */
const keptDatabases = () =>
  w.alpha.psql("select datname from pg_database where datname like 'mastodon_production_%' order by 1");

describe('after a failure, the database is restored only when the old version cannot run on it', () => {
  it('only pre-deployment migrations ran: 4.4.7 again on the same database, the posts written meanwhile kept', async () => {
    const migrations = w.alpha.migrations();
    const rows = w.alpha.rowCounts();
    await w.sb.fault('alpha', 'post-migration-fails');
    const home = path.join(w.sb.dir, 'state-home-kept');
    let r;
    try {
      const run = startCli(
        w.sb,
        ['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.0', '--yes', '--no-check'],
        {
          XDG_STATE_HOME: home,
        },
      );
      // a member posts while the upgrade runs: after the safety backup, before the failure
      await waitFor(
        'the pre-deployment migrations to start',
        () => applyEvents(home).find((e) => e.event === 'task_start' && /pre-deployment/.test(String(e.task))),
        90_000,
      );
      w.alpha.psql(
        "insert into statuses (text, account_id, local) select 'posted during the upgrade', min(id), true from accounts",
      );
      r = await run;
    } finally {
      await w.sb.fault('--clear', 'alpha');
    }
    expect(r.exitCode, String(r.stderr)).toBe(1);
    const doc = json<ChangeDoc>({ code: 1, stdout: String(r.stdout), stderr: '' });
    expect(doc.record).toMatchObject({ status: 'rolled-back', from: '4.4.7', to: '4.5.0' });
    expect(doc.state).toMatch(
      /^restored: mastodon\/alpha runs 4\.4\.7 again, verified healthy \(database kept: only pre-deployment migrations of 4\.5\.0 ran \(20250806104800, 20250822124818\)/,
    );
    expect(doc.state).not.toContain('database restored');

    expect(await w.alpha.running()).toEqual({ version: '4.4.7', healthy: true });
    expect(w.alpha.rowCounts()).toEqual({ ...rows, statuses: rows.statuses + 1 });
    expect(w.alpha.psql("select count(*) from statuses where text = 'posted during the upgrade'")).toBe('1');
    expect(w.alpha.migrations()).toEqual([...migrations, '20250806104800', '20250822124818'].sort());
    expect(keptDatabases()).toBe('');
    const rec = w.alpha.record(doc.record.id);
    expect(rec.transitions.map((t) => t.status)).toEqual(['pending', 'rolled-back']);
    expect(rec.details.failure).toMatch(/Run post-deployment database migrations/);
    expect(rec.details).toMatchObject({
      migrationsRan: true,
      schemaFit: { fits: true, pre: ['20250806104800', '20250822124818'], post: [], unknown: [] },
      recoveryVerification: { ok: true, reportedVersion: '4.4.7' },
    });
    expect(rec.details.databaseKept).toMatch(/^only pre-deployment migrations of 4\.5\.0 ran/);
    expect(rec.details.restoredDatabaseFrom).toBeUndefined();
    expect(existsSync(w.alpha.lockDir)).toBe(false);
  });

  it('post-deployment migrations ran: the database of before the upgrade is put back', async () => {
    const migrations = w.alpha.migrations();
    const rows = w.alpha.rowCounts();
    const r = await upgradeToBrokenRelease(w.alpha, '4.5.0');
    expect(r.exitCode, String(r.stderr)).toBe(1);
    const doc = json<ChangeDoc>({ code: 1, stdout: String(r.stdout), stderr: '' });
    expect(doc.record).toMatchObject({ status: 'rolled-back', from: '4.4.7', to: '4.5.0' });
    expect(doc.state).toMatch(
      /^restored: mastodon\/alpha runs 4\.4\.7 again, verified healthy \(database restored from /,
    );
    expect(await w.alpha.running()).toEqual({ version: '4.4.7', healthy: true });
    expect(w.alpha.migrations()).toEqual(migrations);
    expect(w.alpha.rowCounts()).toEqual(rows);
    // the column 4.4.7 reads is back
    expect(
      w.alpha.psql(
        "select count(*) from information_schema.columns where table_name = 'users' and column_name = 'otp_secret'",
      ),
    ).toBe('1');
    expect(keptDatabases()).toMatch(/^mastodon_production_before_\d+_\d+$/);
    const rec = w.alpha.record(doc.record.id);
    expect(rec.details).toMatchObject({
      migrationsRan: true,
      schemaFit: { fits: false, post: ['20250905140000', '20251017093000'] },
      recoveryVerification: { ok: true, reportedVersion: '4.4.7' },
    });
    expect(rec.details.databaseKept).toBeUndefined();
  });
});

describe('rollback judges the schema as recovery does', () => {
  it('back from an upgrade that ran only pre-deployment migrations: the database is kept without asking (exit 0)', async () => {
    for (const to of ['4.5.0', '4.5.1']) {
      const up = await upgrade('alpha', to);
      expect(up.code, up.stderr).toBe(0);
    }
    const migrations = w.alpha.migrations();
    expect(migrations).toContain('20251110120000');
    // nobody at a terminal, neither --restore-db nor --keep-db: nothing to ask, 4.5.0 runs on this schema
    const r = await w.sb.run(['--json', 'rollback', 'mastodon', '--env', 'alpha', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const doc = json<ChangeDoc>(r);
    expect(doc.record).toMatchObject({ status: 'succeeded', from: '4.5.1', to: '4.5.0' });
    const rec = w.alpha.record(doc.record.id);
    expect(rec.details.restoreDb).toBe(false);
    expect(rec.details.databaseKept).toBe(
      'only pre-deployment migrations of 4.5.1 ran (20251110120000), made for 4.5.0 to run on',
    );
    expect(await w.alpha.running()).toEqual({ version: '4.5.0', healthy: true });
    expect(w.alpha.migrations()).toEqual(migrations);
  });
});

describe('restoring a backup into an environment', () => {
  it('a backup taken on a newer release than the environment runs is refused (exit 3), saying to upgrade first', async () => {
    // the rollback above took its safety backup while alpha ran 4.5.1; alpha runs 4.5.0 now
    const rollback = w.alpha
      .records()
      .filter((r) => r.operation === 'rollback' && r.status === 'succeeded')
      .at(-1)!;
    expect(rollback).toMatchObject({ from: '4.5.1', to: '4.5.0' });
    const records = w.alpha.records().length;
    const migrations = w.alpha.migrations();
    const r = await w.sb.run(['backup', 'restore', rollback.backupId!, '--into', 'alpha', '--yes']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(
      `backup ${rollback.backupId} was taken on 4.5.1, newer than the 4.5.0 mastodon/alpha runs: 4.5.0 would run ` +
        'on the newer schema of 4.5.1',
    );
    expect(r.stderr).toContain(
      'hint: upgrade mastodon/alpha to 4.5.1 first (coopctl upgrade mastodon --env alpha --to 4.5.1)',
    );
    expect(await w.alpha.running()).toEqual({ version: '4.5.0', healthy: true });
    expect(w.alpha.migrations()).toEqual(migrations);
    expect(w.alpha.records()).toHaveLength(records);
    expect(existsSync(w.alpha.lockDir)).toBe(false);
  });
});

describe('the collections the inventory needs', () => {
  it("preflight fails when the inventory's passwordstore lookup lacks community.general, naming file:line", async () => {
    const vars = path.join(w.sb.dir, 'inventories', 'group_vars', 'mastodon.yml');
    mkdirSync(path.dirname(vars), { recursive: true });
    writeFileSync(vars, "# as production's\nsmtp_password: \"{{ lookup('passwordstore', 'sandbox/smtp') }}\"\n");
    let r;
    try {
      r = await w.sb.run(['--json', 'preflight', 'mastodon', '--env', 'alpha']);
    } finally {
      rmSync(vars);
    }
    expect(r.code, r.stderr).toBe(3);
    const checks = json<{ checks: Array<{ id: string; status: string; message: string; fix: string }> }>(r).checks;
    expect(checks.find((c) => c.id === 'ansible-collections')).toEqual({
      id: 'ansible-collections',
      status: 'fail',
      message:
        'the inventory needs collections that are not installed: ' +
        "community.general (lookup 'passwordstore' at inventories/group_vars/mastodon.yml:2)",
      fix: 'ansible-galaxy collection install community.general',
    });
  });
});
