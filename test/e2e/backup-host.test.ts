import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { coopctl } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { SandboxMastodon, setHealthTimeout, startCli, waitFor } from '../helpers/upgradeSandbox.js';
import { PASS_ENTRIES } from '../world/passStore.js';

/**
 * Issue 9: a backup to the S3 store is taken on the host (dump → zstd → on-host copy, checked; age | rclone to the
 * store from there). The operator's machine receives progress and the manifest, nothing else.
 */
let sb: TestSandbox;
const MiB = 1024 * 1024;

beforeAll(async () => {
  sb = await startSandbox();
  setHealthTimeout(sb, '6s');
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
    const all = listDir(objects());
    expect(all.length).toBe(3);
    // backup list says which still have their on-host copy
    const list = await sb.run(['backup', 'list', 'mastodon', '--env', 'prod', '--store', 's3']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+SERVICE\s+ENV\s+AGE\s+SIZE\s+VERSION\s+VERIFIED\s+ON HOST$/m);
    for (const id of [a.id, b.id]) expect(list.stdout).toMatch(new RegExp(`^${id}\\s.*\\syes \\(prod\\)$`, 'm'));
    expect(list.stdout).toMatch(new RegExp(`^${all[0]}\\s.*\\sno \\(pruned\\)$`, 'm'));
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

  it('the store unreachable from the host, mid-backup: exit 1, no object, no manifest, no on-host copy left', async () => {
    const before = { copies: listDir(copies()), objects: listDir(objects()) };
    const config = readFileSync(sb.config, 'utf8');
    const doc = parseDocument(config);
    // this machine still reaches the store (its check passes); the host's upload is refused
    doc.setIn(['backup', 'stores', 's3', 'hostEndpoint'], 'http://127.0.0.1:9');
    writeFileSync(sb.config, doc.toString());
    let r;
    try {
      r = await sb.run(['backup', 'create', 'mastodon', '--env', 'prod', '--store', 's3']);
    } finally {
      writeFileSync(sb.config, config);
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the upload of \S+ to s3 .* failed on prod \(exit \d+\)/);
    expect(listDir(copies())).toEqual(before.copies);
    expect(listDir(objects())).toEqual(before.objects);
  });
});

describe('the safety backup of an upgrade, and the automatic restore', () => {
  it('copies on the host (checked), then offsite; a failed upgrade is restored from the on-host copy', async () => {
    const prod = new SandboxMastodon(sb, 'prod');
    const rows = prod.rowCounts();
    const migrations = prod.migrations();
    const earlier = new Set(prod.records().map((x) => x.id));
    // 4.5.0's post-deployment migrations run, then it is unhealthy: 4.4.7 cannot run on that schema
    await sb.fault('prod', 'health-fails');
    const run = startCli(sb, ['upgrade', 'mastodon', '--env', 'prod', '--to', '4.5.0', '--yes', '--no-check']);
    try {
      await waitFor(
        'the recovery to start',
        () => prod.records().find((x) => !earlier.has(x.id) && x.details.failure !== undefined),
        90_000,
      );
    } finally {
      await sb.fault('--clear', 'prod');
    }
    const r = await run;
    const stderr = String(r.stderr);
    expect(r.exitCode, stderr).toBe(1);
    const rec = prod.records().find((x) => !earlier.has(x.id))!;
    expect(rec.status).toBe('rolled-back');
    const id = String(rec.backupId);
    const copy = path.join(copies(), id, 'db.dump.zst');
    // the plan's two stages, in order, and the restore from the copy on the host (no store, no key)
    const copied = stderr.indexOf('→ Safety copy on prod (database + .env.production), checked');
    const sent = stderr.indexOf('→ Offsite copy to the local store, encrypted, through this machine');
    const deployed = stderr.indexOf('→ Run the playbook with 4.5.0');
    expect(copied).toBeGreaterThan(-1);
    expect(sent).toBeGreaterThan(copied);
    expect(deployed).toBeGreaterThan(sent);
    expect(stderr).toContain(`from the on-host copy ${copy} (no network)`);
    expect(String(r.stdout)).toMatch(/database restored from /);
    // the same bytes offsite: the store's manifest describes the on-host copy
    const manifest = path.join(sb.dir, 'backups', 'mastodon', 'prod', id, 'manifest.json');
    const stored = JSON.parse(readFileSync(manifest, 'utf8'));
    expect(createHash('sha256').update(readFileSync(copy)).digest('hex')).toBe(stored.plainSha256);
    expect(stored.hostCopy).toEqual({ host: 'prod', file: copy });
    expect(prod.migrations()).toEqual(migrations);
    expect(prod.rowCounts()).toEqual(rows);
    expect(await prod.running()).toEqual({ version: '4.4.7', healthy: true });
  });
});

describe('preflight of the host side of backups', () => {
  interface Check {
    id: string;
    status: string;
    message: string;
    fix?: string;
  }
  const preflight = async () => {
    const r = await sb.run(['--json', 'preflight', 'mastodon', '--env', 'prod']);
    return { code: r.code, check: (JSON.parse(r.stdout).checks as Check[]).find((c) => c.id === 'backup-host')! };
  };

  it('finds the tools and room for one more copy; an unwritable backup directory fails with what to do', async () => {
    const ok = await preflight();
    expect(ok.code).toBe(0);
    expect(ok.check).toMatchObject({ status: 'pass' });
    expect(ok.check.message).toMatch(/^zstd, age present; .*var\/backups\/coopctl: [\d.]+ \w+ free/);

    const inventory = path.join(sb.dir, 'inventories', 'sandbox.yml');
    const before = readFileSync(inventory, 'utf8');
    const doc = parseDocument(before);
    // under a regular file: nothing can create it
    const dir = path.join(sb.config, 'backups');
    doc.setIn(['all', 'children', 'mastodon', 'hosts', 'prod', 'coopctl_backup_dir'], dir);
    writeFileSync(inventory, doc.toString());
    try {
      const bad = await preflight();
      expect(bad.code).toBe(3);
      expect(bad.check).toMatchObject({
        status: 'fail',
        message: `the backup directory ${dir} cannot be written on prod (${sb.config} is not writable)`,
        fix: expect.stringContaining(`install -d -m 0700 ${dir}`),
      });
    } finally {
      writeFileSync(inventory, before);
    }
  });
});
