import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStandinConfig } from '../doubles/mastodon/config.js';
import { hostCluster } from '../doubles/mastodon/migrations.js';
import { coopctl, json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { psql } from '../world/postgres.js';

/** `coopctl sandbox fill ENV --size SIZE` (issue 9): a database at size, made of realistic rows. */
let sb: TestSandbox;

beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(async () => {
  await sb?.down();
});

function sql(env: string, query: string): string {
  const root = path.join(sb.dir, 'hosts', env);
  const cfg = loadStandinConfig(root);
  return psql(hostCluster(root, cfg), query, cfg.postgres.database).trim();
}

const fill = (...args: string[]) => coopctl(['sandbox', 'fill', '--dir', sb.dir, ...args], { timeoutMs: 300_000 });

describe('sandbox fill', () => {
  it('bad input exits 2 naming --size or ENV, and adds nothing', async () => {
    const before = sql('alpha', 'SELECT count(*) FROM statuses');
    const bad = await fill('alpha', '--size', 'lots');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--size: "lots" is not a size');
    const env = await fill('alhpa', '--size', '20MB');
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('ENV: unknown Mastodon environment "alhpa" — did you mean "alpha"?');
    expect(sql('alpha', 'SELECT count(*) FROM statuses')).toBe(before);
  });

  it('grows alpha to about 20 MB with accounts, users and statuses of varied text and languages', async () => {
    const count = (t: string) => Number(sql('alpha', `SELECT count(*) FROM ${t}`));
    const before = { accounts: count('accounts'), users: count('users'), statuses: count('statuses') };
    const r = await fill('alpha', '--size', '20MB');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^alpha: mastodon_production grew from [\d.]+ MiB to [\d.]+ MiB \(asked 19\.1 MiB\)/);
    expect(r.stderr).toMatch(/• alpha: [\d.]+ MiB of 19\.1 MiB/);
    const size = Number(sql('alpha', 'SELECT pg_database_size(current_database())'));
    expect(size).toBeGreaterThan(20e6 * 0.75);
    expect(size).toBeLessThan(20e6 * 1.25);
    expect(count('accounts')).toBeGreaterThan(before.accounts + 100);
    expect(count('users')).toBeGreaterThan(before.users + 20);
    expect(count('statuses')).toBeGreaterThan(before.statuses + 10_000);
    // varied: most texts differ, lengths spread up to Mastodon's 500 characters, several languages
    const [distinct, total, shortest, longest] = sql(
      'alpha',
      'SELECT count(DISTINCT text), count(*), min(length(text)), max(length(text)) FROM statuses',
    )
      .split('|')
      .map(Number);
    expect(distinct / total).toBeGreaterThan(0.9);
    expect(shortest).toBeLessThan(60);
    expect(longest).toBeGreaterThan(300);
    expect(Number(sql('alpha', 'SELECT count(DISTINCT language) FROM statuses'))).toBeGreaterThanOrEqual(5);
    expect(
      Number(sql('alpha', "SELECT count(*) FROM accounts WHERE note <> '' AND domain IS NOT NULL")),
    ).toBeGreaterThan(50);

    // again with the same size: nothing to add, and it says so
    const again = await fill('alpha', '--size', '20MB');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already [\d.]+ MiB \(asked 19\.1 MiB\): nothing added/);

    // and a backup of the filled database still verifies
    const made = await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'alpha']);
    expect(made.code, made.stderr).toBe(0);
    const backup = json<{ id: string; database: { rowCounts: Record<string, number> } }>(made);
    expect(backup.database.rowCounts.statuses).toBe(count('statuses'));
    const verify = await sb.run(['backup', 'verify', backup.id]);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it('fills media attachments with their metadata JSON where the schema has them', async () => {
    // Mastodon's own table (a subset of its columns); the fixture's schema has none.
    sql(
      'prod',
      `CREATE TABLE media_attachments (
        id bigserial PRIMARY KEY,
        status_id bigint REFERENCES statuses (id) ON DELETE SET NULL,
        file_file_name varchar, file_content_type varchar, file_file_size integer, file_updated_at timestamp,
        remote_url varchar NOT NULL DEFAULT '',
        created_at timestamp NOT NULL, updated_at timestamp NOT NULL,
        shortcode varchar, type integer NOT NULL DEFAULT 0, file_meta json,
        account_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
        description text, scheduled_status_id bigint, blurhash varchar, processing integer
      )`,
    );
    const r = await fill('prod', '--size', '12MB');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\+\d+ media$/);
    const [media, statuses] = sql('prod', 'SELECT (SELECT count(*) FROM media_attachments), count(*) FROM statuses')
      .split('|')
      .map(Number);
    expect(media).toBeGreaterThan(statuses / 6);
    const meta = JSON.parse(sql('prod', 'SELECT file_meta FROM media_attachments ORDER BY id DESC LIMIT 1'));
    expect(meta.original).toMatchObject({ width: expect.any(Number), height: expect.any(Number) });
    expect(meta.original.size).toBe(`${meta.original.width}x${meta.original.height}`);
    expect(Math.abs(meta.focus.x)).toBeLessThanOrEqual(1);
    expect(sql('prod', 'SELECT count(*) FROM media_attachments m JOIN statuses s ON s.id = m.status_id')).toBe(
      String(media),
    );
  });

  it("status shows alpha's growth from its backups' sizes and when its disk fills at that rate", async () => {
    const backup = async () => {
      const made = await sb.run(['backup', 'create', 'mastodon', '--env', 'alpha']);
      expect(made.code, made.stderr).toBe(0);
    };
    await backup();
    expect((await fill('alpha', '--size', '26MB')).code).toBe(0);
    await backup();
    expect((await fill('alpha', '--size', '32MB')).code).toBe(0);
    await backup();

    const r = await sb.run(['--json', 'status', 'mastodon']);
    expect(r.code, r.stderr).toBe(0);
    type Row = {
      env: string;
      capacity: { sizes: number[]; growthBytesPerDay: number; diskFreeBytes: number; fillsAt: string } | null;
    };
    const rows = json<{ services: Row[] }>(r).services;
    const alpha = rows.find((x) => x.env === 'alpha')!.capacity!;
    // this file's backups of alpha: the one after the first fill, then these three
    expect(alpha.sizes.length).toBeGreaterThanOrEqual(3);
    const last = alpha.sizes.slice(-3);
    expect(last[1]).toBeGreaterThan(last[0]);
    expect(last[2]).toBeGreaterThan(last[1]);
    expect(last[2]).toBe(Number(sql('alpha', 'SELECT pg_database_size(current_database())')));
    // megabytes within minutes: a fast rate, and a disk that fills soon after now
    expect(alpha.growthBytesPerDay).toBeGreaterThan(1e6);
    expect(alpha.diskFreeBytes).toBeGreaterThan(0);
    expect(Date.parse(alpha.fillsAt)).toBeGreaterThan(Date.now());
    // prod has no backups here: nothing to tell
    expect(rows.find((x) => x.env === 'prod')!.capacity).toBeNull();

    const text = await sb.run(['status', 'mastodon']);
    expect(text.code, text.stderr).toBe(0);
    const line = text.stdout.split('\n').find((l) => /^mastodon\s+alpha\s+[▁▂▃▄▅▆▇█]{3,}/.test(l));
    expect(line, text.stdout).toMatch(/█ [\d.]+ MiB \(\d+ since \d{4}-\d\d-\d\d\)\s+\+[\d.]+ [KMGT]iB\/day/);
    expect(line).toContain(alpha.fillsAt.slice(0, 10));
  });
});
