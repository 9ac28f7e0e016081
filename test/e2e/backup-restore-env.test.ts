import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { type ChangeDoc, SandboxMastodon, startCli, waitFor } from '../helpers/upgradeSandbox.js';

let sb: TestSandbox;

beforeAll(async () => {
  sb = await startSandbox();
});

afterAll(async () => {
  await sb?.down();
});

function sql(host: string, query: string, db = 'mastodon_production'): string {
  return execFileSync('psql', ['-X', '-At', '-d', db, '-c', query], {
    env: { ...process.env, PGHOST: path.join(sb.dir, 'hosts', host, 'pg', 'run'), PGUSER: 'postgres' },
  })
    .toString()
    .trim();
}

describe('backups on the sandbox', () => {
  it('create → list → verify → restore --into scratch, then a real restore --into ENV puts the data back', async () => {
    const created = await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'alpha']);
    expect(created.code, created.stderr).toBe(0);
    const m = json<{
      id: string;
      service: string;
      env: string;
      version: string;
      sha256: string;
      size: number;
      database: { rowCounts: Record<string, number> };
    }>(created);
    expect(m).toMatchObject({ service: 'mastodon', env: 'alpha', version: '4.4.7' });
    const statuses = Number(sql('alpha', 'select count(*) from statuses'));
    expect(m.database.rowCounts.statuses).toBe(statuses);
    // secrets never in the manifest
    const manifestText = readFileSync(path.join(sb.dir, 'backups', 'mastodon', 'alpha', m.id, 'manifest.json'), 'utf8');
    const envProd = readFileSync(path.join(sb.dir, 'hosts', 'alpha', 'opt', 'social.coop', '.env.production'), 'utf8');
    const secret = /SECRET_KEY_BASE=(\S+)/.exec(envProd)![1];
    expect(manifestText).not.toContain(secret);

    const list = json<{ backups: Array<{ id: string }> }>(
      await sb.run(['--json', 'backup', 'list', 'mastodon', '--env', 'alpha']),
    );
    expect(list.backups[0].id).toBe(m.id);
    expect((await sb.run(['backup', 'verify', m.id])).code).toBe(0);
    const scratch = await sb.run(['--json', 'backup', 'restore', m.id, '--into', 'scratch']);
    expect(scratch.code, scratch.stderr).toBe(0);

    // data written after the backup, then a real restore
    sql(
      'alpha',
      "insert into statuses (account_id, text, created_at, updated_at) select account_id, 'after the backup', now(), now() from statuses limit 5",
    );
    expect(Number(sql('alpha', 'select count(*) from statuses'))).toBe(statuses + 5);
    const noYes = await sb.run(['backup', 'restore', m.id, '--into', 'alpha']);
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toContain('--yes');
    const restored = await sb.run(['--json', 'backup', 'restore', m.id, '--into', 'alpha', '--yes']);
    expect(restored.code, restored.stderr).toBe(0);
    const doc = json<{ ok: boolean; record: { operation: string; status: string; details: Record<string, unknown> } }>(
      restored,
    );
    expect(doc.record).toMatchObject({ operation: 'restore', status: 'succeeded' });
    expect(Number(sql('alpha', 'select count(*) from statuses'))).toBe(statuses);
    // the replaced database is kept, renamed
    const dbs = sql(
      'alpha',
      "select datname from pg_database where datname like 'mastodon_production_before_%'",
      'postgres',
    );
    expect(dbs).toMatch(/^mastodon_production_before_/);
    expect(Number(sql('alpha', 'select count(*) from statuses', dbs.split('\n')[0]))).toBe(statuses + 5);
    const history = readdirSync(path.join(sb.dir, 'hosts/alpha/var/lib/coopctl/mastodon/alpha/history'));
    expect(history.some((f) => f.includes('-restore-'))).toBe(true);
  });

  it('a restore whose row counts differ from its manifest stops before the swap: a row written meanwhile stays live', async () => {
    const alpha = new SandboxMastodon(sb, 'alpha');
    const m = json<{ id: string; database: { rowCounts: Record<string, number> } }>(
      await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'alpha']),
    );
    // the manifest no longer matches what its dump holds (a dump cut short, a manifest edited)
    // Both: the store's, and that of the backup's copy on alpha (every backup has one, and a restore prefers it).
    for (const manifestFile of [
      path.join(sb.dir, 'backups', 'mastodon', 'alpha', m.id, 'manifest.json'),
      path.join(sb.dir, 'hosts', 'alpha', 'var', 'backups', 'coopctl', 'mastodon', 'alpha', m.id, 'manifest.json'),
    ]) {
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
      manifest.database.rowCounts.statuses += 1;
      writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
    }
    const databases = () =>
      sql('alpha', "select string_agg(datname, ',' order by datname) from pg_database", 'postgres');
    const databasesBefore = databases();
    const earlier = new Set(alpha.records().map((r) => r.id));
    const run = startCli(sb, ['--json', 'backup', 'restore', m.id, '--into', 'alpha', '--yes']);
    // a member posts during the attempt: after its safety backup, before the restore fails
    await waitFor(
      'the safety backup of the restore',
      () => alpha.records().find((r) => !earlier.has(r.id) && r.backupId),
      120_000,
    );
    sql(
      'alpha',
      "insert into statuses (account_id, text, created_at, updated_at) select min(id), 'posted during the restore', now(), now() from accounts",
    );
    const r = await run;
    expect(r.exitCode, String(r.stderr)).toBe(1);
    const doc = json<ChangeDoc>({ code: 1, stdout: String(r.stdout), stderr: '' });
    expect(doc.record).toMatchObject({ operation: 'restore', status: 'failed' });
    expect(doc.state).toBe('nothing was changed: mastodon/alpha still runs 4.4.7');
    const rec = alpha.record(doc.record.id);
    expect(rec.transitions.at(-1)!.note).toMatch(
      /^stopped before any change: .*row counts differ from (the|its) manifest/,
    );
    expect(rec.details.restoredDatabaseFrom).toBeUndefined();
    expect(rec.details.recoveryDeploy).toBeUndefined();
    // the live database is the one that ran all along: the row is there, nothing was swapped or left behind
    expect(sql('alpha', "select count(*) from statuses where text = 'posted during the restore'")).toBe('1');
    expect(databases()).toBe(databasesBefore);
    expect(await alpha.running()).toEqual({ version: '4.4.7', healthy: true });
    expect(existsSync(alpha.lockDir)).toBe(false);
  }, 300_000);

  it('a client still connected to the live database does not stop the swap: its connection is ended', async () => {
    const m = json<{ id: string }>(await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'alpha']));
    const pghost = path.join(sb.dir, 'hosts', 'alpha', 'pg', 'run');
    const lingering = spawn('psql', ['-X', '-d', 'mastodon_production', '-c', 'select pg_sleep(300)'], {
      env: { ...process.env, PGHOST: pghost, PGUSER: 'postgres' },
      stdio: 'ignore',
    });
    const ended = new Promise<number | null>((resolve) => lingering.on('exit', resolve));
    try {
      const sleeping = () => sql('alpha', "select count(*) from pg_stat_activity where query = 'select pg_sleep(300)'");
      const deadline = Date.now() + 15_000;
      while (sleeping() === '0' && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
      expect(sleeping()).toBe('1');
      const r = await sb.run(['--json', 'backup', 'restore', m.id, '--into', 'alpha', '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(json<{ record: { status: string } }>(r).record.status).toBe('succeeded');
      expect(await ended).not.toBe(0);
    } finally {
      lingering.kill();
    }
  });

  it('prod runs several sidekiq services, as production does: the swap stops every one that uses the database', async () => {
    const m = json<{ id: string }>(await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'prod']));
    const r = await sb.run(['-v', '--json', 'backup', 'restore', m.id, '--into', 'prod', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ record: { status: string } }>(r).record.status).toBe('succeeded');
    expect(r.stderr).toMatch(/docker compose .* stop web streaming sidekiq-default sidekiq-push sidekiq-mailers/);
  });

  it("another environment's backup is restored only with --from-other-env: exit 2 naming it, nothing changed", async () => {
    const prodBackup = json<{ id: string }>(await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'prod']));
    const statuses = sql('alpha', 'select count(*) from statuses');
    const r = await sb.run(['backup', 'restore', prodBackup.id, '--into', 'alpha', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--from-other-env');
    expect(sql('alpha', 'select count(*) from statuses')).toBe(statuses);
    const dry = await sb.run(['backup', 'restore', prodBackup.id, '--into', 'alpha', '--from-other-env', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('Plan: restore the database of mastodon/alpha');
  });

  it('the object store down: backup create fails with exit 1 and lists nothing half-done', async () => {
    const before = json<{ backups: unknown[] }>(await sb.run(['--json', 'backup', 'list', '--store', 's3'])).backups
      .length;
    await sb.fault('store', 'store-down');
    try {
      const r = await sb.run(['backup', 'create', 'mastodon', '--env', 'prod', '--store', 's3']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/store|127\.0\.0\.1|connect/i);
    } finally {
      await sb.fault('--clear', 'store');
    }
    expect(
      json<{ backups: unknown[] }>(await sb.run(['--json', 'backup', 'list', '--store', 's3'])).backups,
    ).toHaveLength(before);
    const ok = await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'prod', '--store', 's3']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a missing secret reference is a config error naming the file and line: exit 2, nothing run', async () => {
    const cfg = readFileSync(sb.config, 'utf8');
    const broken = path.join(sb.dir, 'broken.yaml');
    writeFileSync(
      broken,
      cfg.replace(
        /accessKeyId:\n(\s+)pass: sandbox\/s3\/access-key-id/,
        'accessKeyId:\n$1env: COOPCTL_TEST_MISSING_KEY',
      ),
    );
    expect(readFileSync(broken, 'utf8')).toContain('COOPCTL_TEST_MISSING_KEY');
    const r = await (await import('../helpers/cli.js')).coopctl(['-c', broken, 'backup', 'list', '--store', 's3'], {
      env: sb.env,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.yaml:\d+ .*secret env:COOPCTL_TEST_MISSING_KEY is not set/);
  });
});
