import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coopctl } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { PASS_ENTRIES } from '../world/passStore.js';

/**
 * Issue 9: a backup to the S3 store is taken on the host (dump → zstd → on-host copy, checked; age | rclone to the
 * store from there). The operator's machine receives progress and the manifest, nothing else.
 */
let sb: TestSandbox;
const MiB = 1024 * 1024;

beforeAll(async () => {
  sb = await startSandbox();
  const fill = await coopctl(['sandbox', 'fill', '--dir', sb.dir, 'prod', '--size', '30MB'], { timeoutMs: 300_000 });
  expect(fill.code, fill.stderr).toBe(0);
}, 900_000);
afterAll(async () => {
  await sb?.down();
});

const objects = (id = '') => path.join(sb.dir, 's3', 'data', 'coopctl-backups', 'coopctl', 'mastodon', 'prod', id);
const object = (id: string, name: string) => readFileSync(path.join(objects(id), `${name}._S3rver_object`));
const copies = () => path.join(sb.dir, 'hosts', 'prod', 'var', 'backups', 'coopctl', 'mastodon', 'prod');
const listDir = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

async function create(): Promise<{ id: string; linkBytes: number; stderr: string }> {
  const r = await sb.run(['-v', 'backup', 'create', 'mastodon', '--env', 'prod', '--store', 's3']);
  expect(r.code, r.stderr).toBe(0);
  const id = /^(\d{8}T\d{6}Z-[0-9a-f]{6}) {2}mastodon\/prod/m.exec(r.stdout)![1];
  // What the SSH connections carried, as -v reports it when they close.
  const counts = [...r.stderr.matchAll(/^ssh \w+: (\d+) bytes received, (\d+) bytes sent$/gm)];
  expect(counts.length).toBeGreaterThan(0);
  return { id, linkBytes: counts.reduce((n, m) => n + Number(m[1]) + Number(m[2]), 0), stderr: r.stderr };
}

describe('backup create with an S3 store, on the host', () => {
  it('writes age(zstd(pg_dump)) from the host: decryptable by hand, hashes in the manifest, ≤ 1 MiB over SSH', async () => {
    const { id, linkBytes } = await create();
    const dump = object(id, 'db.dump.zst.age');
    // a ≥ 20 MB database; its compressed dump is several MiB, none of which came through here
    expect(dump.length).toBeGreaterThan(2 * MiB);
    expect(linkBytes).toBeLessThanOrEqual(MiB);
    const manifest = JSON.parse(object(id, 'manifest.json').toString('utf8'));
    expect(manifest).toMatchObject({ id, size: dump.length, compression: { where: 'host' } });
    expect(manifest.sha256).toBe(createHash('sha256').update(dump).digest('hex'));
    const secrets = object(id, 'env.production.age');
    expect(manifest.files.find((f: { kind: string }) => f.kind === 'secrets').sha256).toBe(
      createHash('sha256').update(secrets).digest('hex'),
    );
    // The by-hand restore of src/backup/README.md: age -d | zstd -d | pg_restore.
    const identity = execFileSync('pass', ['show', PASS_ENTRIES.ageIdentity], { env: { ...process.env, ...sb.env } });
    const keyFile = path.join(sb.dir, 'key.txt');
    execFileSync('sh', ['-c', 'umask 077; cat > "$1"', 'sh', keyFile], { input: identity });
    const file = path.join(objects(id), 'db.dump.zst.age._S3rver_object');
    const plain = execFileSync('sh', ['-c', 'age -d -i "$1" "$2" | zstd -d | sha256sum', 'sh', keyFile, file]);
    const list = execFileSync('sh', ['-c', 'age -d -i "$1" "$2" | zstd -d | pg_restore --list', 'sh', keyFile, file], {
      maxBuffer: 64 * MiB,
    }).toString();
    expect(list).toMatch(/TABLE DATA public statuses/);
    expect(plain.length).toBeGreaterThan(0);
    expect(
      execFileSync('sh', [
        '-c',
        'age -d -i "$1" "$2" | sha256sum',
        'sh',
        keyFile,
        path.join(objects(id), 'env.production.age._S3rver_object'),
      ])
        .toString()
        .slice(0, 64),
    ).toBe(manifest.files.find((f: { kind: string }) => f.kind === 'secrets').plainSha256);

    // the on-host copy: root-only, the same bytes as the store's plaintext
    const dir = path.join(copies(), id);
    expect(statSync(copies()).mode & 0o777).toBe(0o700);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'db.dump.zst')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'manifest.json')).mode & 0o777).toBe(0o600);
    expect(
      createHash('sha256')
        .update(readFileSync(path.join(dir, 'db.dump.zst')))
        .digest('hex'),
    ).toBe(manifest.plainSha256);
    expect(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'))).toMatchObject({
      id,
      sha256: manifest.plainSha256,
      checks: ['size', 'sha256', 'zstd -t', 'pg_restore --list'],
      database: { rowCounts: manifest.database.rowCounts },
    });
  });

  it('keeps the newest two on-host copies (backup.onHost.keep)', async () => {
    const a = await create();
    const b = await create();
    expect(listDir(copies())).toEqual([a.id, b.id]);
    // the store keeps every backup: its own retention is prune's
    expect(listDir(objects()).length).toBe(3);
  });

  it('with the store down: fails (exit 1), nothing half-written, on the host or in the store', async () => {
    const before = { copies: listDir(copies()), objects: listDir(objects()) };
    await sb.fault('store', 'store-down');
    try {
      const r = await sb.run(['backup', 'create', 'mastodon', '--env', 'prod', '--store', 's3']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/unreachable/);
    } finally {
      await sb.fault('--clear', 'store');
    }
    expect(listDir(copies())).toEqual(before.copies);
    expect(listDir(objects())).toEqual(before.objects);
    for (const id of before.copies) expect(listDir(path.join(copies(), id))).toEqual(['db.dump.zst', 'manifest.json']);
  });
});
