import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStandinConfig } from '../doubles/mastodon/config.js';
import { hostCluster } from '../doubles/mastodon/migrations.js';
import { coopctl, json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { startCli, waitFor } from '../helpers/upgradeSandbox.js';
import { psql } from '../world/postgres.js';
import type { SandboxState } from '../world/state.js';

/**
 * Issue 9: with an S3 store, verify, the restore test and a restore read the object on a host (rclone cat |
 * sha256, age -d, zstd -d, pg_restore there). Measured: the bytes through the operator's end of every link
 * (the veths of the hosts' and the store's namespaces) while each runs.
 */
let sb: TestSandbox;
let prod: { id: string; size: number; rowCounts: Record<string, number> };

type ManifestDoc = {
  id: string;
  size: number;
  sha256: string;
  files: Array<{ name: string; size: number; sha256: string }>;
  database: { rowCounts: Record<string, number> };
  verifications: Array<{ kind: string; ok: boolean; details: Record<string, unknown> }>;
};

const state = (): SandboxState => JSON.parse(readFileSync(path.join(sb.dir, 'sandbox.json'), 'utf8'));

/** rx + tx of the operator's end of each link (hosts and store). */
function operatorLinkBytes(): number {
  const st = state();
  const ends = [...st.hosts.map((h) => h.netns!.outside), st.s3.netns!.outside];
  const read = (dev: string, dir: string) =>
    Number(readFileSync(`/sys/class/net/${dev}/statistics/${dir}_bytes`, 'utf8'));
  return ends.reduce((sum, dev) => sum + read(dev, 'rx') + read(dev, 'tx'), 0);
}

async function measured<T>(run: () => Promise<T>): Promise<{ result: T; bytes: number }> {
  const before = operatorLinkBytes();
  const result = await run();
  return { result, bytes: operatorLinkBytes() - before };
}

/** s3rver's file for a key of the bucket. */
function storedFile(id: string, name: string): string {
  const root = path.join(sb.dir, 's3', 'data', state().s3.bucket);
  const find = (dir: string): string | undefined => {
    for (const e of readdirSync(dir)) {
      const p = path.join(dir, e);
      if (statSync(p).isDirectory()) {
        const f = find(p);
        if (f) return f;
      } else if (p.includes(`/${id}/`) && e === `${name}._S3rver_object`) return p;
    }
    return undefined;
  };
  const f = find(root);
  if (!f) throw new Error(`no ${name} of ${id} under ${root}`);
  return f;
}

const manifestOf = (id: string): ManifestDoc => JSON.parse(readFileSync(storedFile(id, 'manifest.json'), 'utf8'));

function sql(env: string, query: string): string {
  const root = path.join(sb.dir, 'hosts', env);
  const cfg = loadStandinConfig(root);
  return psql(hostCluster(root, cfg), query, cfg.postgres.database).trim();
}

const scratchDatabases = () =>
  sql('alpha', "SELECT datname FROM pg_database WHERE datname LIKE 'coopctl_scratch_%'").split('\n').filter(Boolean);

async function createS3Backup(env: string): Promise<string> {
  const r = await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', env, '--store', 's3']);
  expect(r.code, r.stderr).toBe(0);
  return json<{ id: string }>(r).id;
}

beforeAll(async () => {
  sb = await startSandbox();
  const fill = await coopctl(['sandbox', 'fill', '--dir', sb.dir, 'prod', '--size', '80MB'], { timeoutMs: 600_000 });
  expect(fill.code, fill.stderr).toBe(0);
  const id = await createS3Backup('prod');
  const m = manifestOf(id);
  prod = { id, size: m.files.find((f) => f.name === 'db.dump.zst.age')!.size, rowCounts: m.database.rowCounts };
  // The measurements mean something only if the object is well over the bounds (80 MB of rows: about 9 MB).
  expect(prod.size).toBeGreaterThan(8 * 1024 * 1024);
}, 900_000);

afterAll(async () => {
  await sb?.down();
});

describe('verify, restore test and restore read an S3 backup on the host', () => {
  it('verify: hash and pg_restore --list on the restore-test host; ≤ 1 MiB over the operator link', async () => {
    const { result: r, bytes } = await measured(() => sb.run(['backup', 'verify', prod.id, '--store', 's3']));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${prod.id}: ok \\(restore-list, \\d+ entries in the dump\\)`));
    expect(bytes).toBeLessThan(1024 * 1024);
    const v = manifestOf(prod.id).verifications.at(-1)!;
    expect(v).toMatchObject({ kind: 'restore-list', ok: true, details: { readOn: 'alpha', size: prod.size } });

    const quick = await measured(() => sb.run(['backup', 'verify', prod.id, '--store', 's3', '--quick']));
    expect(quick.result.code, quick.result.stderr).toBe(0);
    expect(quick.result.stdout).toContain(`${prod.id}: ok (hash)`);
    expect(quick.bytes).toBeLessThan(1024 * 1024);
  });

  it('progress reaches the operator while the host reads (bytes counted there, every second)', async () => {
    await sb.fault('store', 'store-slow'); // 4 MiB/s: the 9 MB object takes a few seconds
    try {
      const r = await sb.run(['backup', 'verify', prod.id, '--store', 's3', '--quick']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/reading back [1-9]\d?% of /);
    } finally {
      await sb.fault('--clear', 'store');
    }
  });

  it('a changed byte in the stored object: verify fails (exit 3) naming the object, recorded', async () => {
    const id = await createS3Backup('alpha');
    const file = storedFile(id, 'db.dump.zst.age');
    const original = readFileSync(file);
    const changed = Buffer.from(original);
    changed[Math.floor(changed.length / 2)]! ^= 0x01;
    writeFileSync(file, changed);
    try {
      const r = await sb.run(['backup', 'verify', id, '--store', 's3']);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`mastodon/alpha/${id}/db.dump.zst.age in the store does not match its manifest`);
      expect(r.stderr).toContain('(read on alpha)');
      expect(manifestOf(id).verifications.at(-1)).toMatchObject({ kind: 'restore-list', ok: false });
    } finally {
      writeFileSync(file, original);
    }
  });

  it('a missing object: verify fails (exit 3, missing-object) naming it', async () => {
    const id = await createS3Backup('alpha');
    const file = storedFile(id, 'db.dump.zst.age');
    for (const f of [file, `${file}.md5`, file.replace(/_S3rver_object$/, '_S3rver_metadata.json')]) rmSync(f);
    const r = await sb.run(['--json', 'backup', 'verify', id, '--store', 's3']);
    expect(r.code).toBe(3);
    expect(json<{ error: { code: string; message: string } }>(r).error).toEqual({
      code: 'missing-object',
      message: `mastodon/alpha/${id}/db.dump.zst.age is missing from the store (read on alpha)`,
    });
  });

  it('a truncated object: caught by its size, and by the structure check when the manifest agrees', async () => {
    const id = await createS3Backup('alpha');
    const file = storedFile(id, 'db.dump.zst.age');
    const size = statSync(file).size;
    truncateSync(file, size - 1000);
    const r = await sb.run(['backup', 'verify', id, '--store', 's3']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`size expected ${size}, actual ${size - 1000}`);
    expect(r.stderr).toContain('(read on alpha)');

    // A manifest that describes the truncated bytes (as if written from them): only decryption on the host sees it.
    const manifestFile = storedFile(id, 'manifest.json');
    const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as ManifestDoc;
    const obj = m.files.find((f) => f.name === 'db.dump.zst.age')!;
    obj.sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    obj.size = size - 1000;
    Object.assign(m, { sha256: obj.sha256, size: obj.size });
    writeFileSync(manifestFile, JSON.stringify(m, null, 2));
    const structure = await sb.run(['--json', 'backup', 'verify', id, '--store', 's3']);
    expect(structure.code).toBe(3);
    expect(json<{ error: { code: string; message: string } }>(structure).error).toMatchObject({
      code: 'tampered',
      message: expect.stringContaining('cannot decrypt: the age data is damaged'),
    });
  });

  it('verify --restore, the restore test, on the host: row counts checked, no scratch database, ≤ 1 MiB', async () => {
    const both = await sb.run(['backup', 'verify', prod.id, '--restore', '--quick', '--store', 's3']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--restore' cannot be used with option '--quick/);
    const { result: r, bytes } = await measured(() =>
      sb.run(['backup', 'verify', prod.id, '--restore', '--store', 's3']),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${prod.id}: restored on alpha into coopctl_scratch_`);
    expect(bytes).toBeLessThan(1024 * 1024);
    expect(scratchDatabases()).toEqual([]);
    expect(manifestOf(prod.id).verifications.at(-1)).toMatchObject({
      kind: 'restore-scratch',
      ok: true,
      details: { rowCounts: prod.rowCounts },
    });
  });

  it('Ctrl-C during the restore test on the host: no scratch database, nothing left running there, exit 130', async () => {
    const running = () =>
      execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(`/${prod.id}/db.dump.zst.age`));
    await sb.fault('store', 'store-slow');
    const run = startCli(sb, ['backup', 'restore', prod.id, '--into', 'scratch', '--store', 's3']);
    try {
      await waitFor('pg_restore to fill the scratch database', () => scratchDatabases().length > 0, 60_000, 20);
      await waitFor('rclone to read on alpha', () => running().some((l) => l.startsWith('rclone')), 30_000, 20);
      run.kill('SIGINT');
    } finally {
      await sb.fault('--clear', 'store');
    }
    const r = await run;
    expect(scratchDatabases()).toEqual([]);
    await waitFor('the read on alpha to end', () => running().length === 0 || undefined, 10_000);
    expect(r.exitCode, r.stderr).toBe(130);
  }, 120_000);

  it('restore --into alpha pulls the backup from the store on alpha; only a fraction of it crosses', async () => {
    const { result: r, bytes } = await measured(() =>
      sb.run(['-v', '--yes', 'backup', 'restore', prod.id, '--into', 'alpha', '--from-other-env', '--store', 's3']),
    );
    expect(r.code, r.stderr).toBe(0);
    for (const [table, n] of Object.entries(prod.rowCounts))
      expect(Number(sql('alpha', `SELECT count(*) FROM ${table}`))).toBe(n);
    expect(r.stderr).toMatch(
      new RegExp(`\\$ alpha: [\\s\\S]*?coopctl:coopctl-backups/coopctl/mastodon/prod/${prod.id}/db`),
    );
    // What crosses is the pipeline's own: Ansible's modules for the redeploy (about 1.5 MB), the safety backup of
    // alpha (small), commands and progress; the 9 MB object does not.
    expect(bytes).toBeLessThan(prod.size / 4);
  });
});
