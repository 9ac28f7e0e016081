import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups } from '../../src/backup/catalog.js';
import { createBackup, type CreateBackupOptions } from '../../src/backup/create.js';
import { parseIdentities } from '../../src/backup/crypto.js';
import { applyPrune, planStorePrune } from '../../src/backup/prune.js';
import { restoreScratch } from '../../src/backup/restore.js';
import { S3Store } from '../../src/backup/store/s3.js';
import { verifyBackup } from '../../src/backup/verify.js';
import { seedMastodonLike, startPgHost, type PgHost } from '../helpers/pgHost.js';
import { startS3, type S3Server } from '../helpers/s3.js';

let h: PgHost;
let s3: S3Server;
let store: S3Store;
let work: string;
let identities: string[];
let recipient: string;
let counts: Record<string, number>;
const DB = 'mastodon_production';

function options(extra: Partial<CreateBackupOptions> = {}): CreateBackupOptions {
  return {
    source: {
      service: 'mastodon',
      env: 'prod',
      host: h.host,
      db: h.db(DB),
      tables: ['accounts', 'statuses', 'users'],
      secretsFile: path.join(h.root, 'live', '.env.production'),
    },
    store,
    encryption: { recipients: [recipient], identityRef: 'env:COOPCTL_AGE_IDENTITY' },
    coopctlVersion: '0.1.0',
    onHost: {
      dir: path.join(h.root, 'backups'),
      keep: 3,
      history: { remote: h.host, stateDir: path.join(h.root, 'state') },
    },
    ...extra,
  };
}

async function bucketKeys(prefix = ''): Promise<string[]> {
  const r = await store.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}

beforeAll(async () => {
  [h, s3] = await Promise.all([startPgHost('rhizome'), startS3()]);
  // 16 MiB of incompressible data: several 5 MiB parts, so uploads are multipart.
  counts = seedMastodonLike(h, DB, { mb: 16 });
  work = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
  const keyFile = path.join(work, 'key.txt');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
  const text = readFileSync(keyFile, 'utf8');
  identities = parseIdentities(text, keyFile);
  recipient = /public key: (age1\w+)/.exec(text)![1];
  mkdirSync(path.join(h.root, 'live'));
  writeFileSync(path.join(h.root, 'live', '.env.production'), 'SECRET_KEY_BASE=feedface\n');
  store = new S3Store(s3.settings());
});

afterAll(async () => {
  store?.close();
  await Promise.all([h?.stop(), s3?.destroy()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('backup to S3-compatible storage (s3rver)', () => {
  it('uploads multipart, lists, verifies and restore-tests from the bucket', async () => {
    const parts: string[] = [];
    s3.onRequest((method, url) => {
      if (method === 'PUT' && url.includes('partNumber=')) parts.push(url);
    });
    const m = await createBackup(options());
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(await bucketKeys(`coopctl/mastodon/prod/${m.id}/`)).toEqual(
      ['db.dump.zst.age', 'env.production.age', 'manifest.json'].map((f) => `coopctl/mastodon/prod/${m.id}/${f}`),
    );
    expect((await listBackups(store)).backups.map((b) => b.id)).toEqual([m.id]);
    const v = await verifyBackup({ store, manifest: m, identities, lister: { host: h.host, db: h.db('postgres') } });
    expect(v.verification).toMatchObject({ kind: 'restore-list', ok: true });
    const r = await restoreScratch({
      store,
      manifest: v.manifest,
      identities,
      target: { host: h.host, db: h.db('postgres') },
    });
    expect(r.rowCounts).toEqual(counts);
    expect((await listBackups(store)).backups[0].verifications.map((x) => `${x.kind}:${x.ok}`)).toEqual([
      'restore-list:true',
      'restore-scratch:true',
    ]);
  });

  it('fails before dumping when the store is down at the start', async () => {
    await s3.stop();
    try {
      const started = Date.now();
      const err = await createBackup(options()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'store-unreachable', exitCode: 1 });
      expect((err as Error).message).toMatch(
        /backup store s3 coopctl-backups\/coopctl\/ at http:\/\/127\.0\.0\.1:\d+ is unreachable: connection refused/,
      );
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await s3.start();
    }
    expect((await listBackups(store)).backups).toHaveLength(1);
  });

  it('a store that goes down mid-upload leaves no backup; prune clears what the cleanup could not reach', async () => {
    const before = await bucketKeys();
    let cut = false;
    s3.onRequest((method, url) => {
      if (!cut && method === 'PUT' && url.includes('partNumber=')) {
        cut = true;
        void s3.stop();
      }
    });
    const err = await createBackup(options()).catch((e: unknown) => e);
    expect(cut).toBe(true);
    expect(err).toMatchObject({ code: 'upload-failed', exitCode: 1 });
    expect((err as Error).message).toMatch(
      /the upload of \S+\/mastodon\/prod\/\S+\/db\.dump\.zst to s3 .* failed on rhizome \(exit \d+\): .*connection refused/,
    );
    await s3.start();
    // The cleanup could not reach the store either: at most the small secrets object remains,
    // without a manifest, so it is no backup; prune removes such orphans once they are a day old.
    const left = (await bucketKeys()).filter((k) => !before.includes(k));
    expect(left.every((k) => k.endsWith('/env.production.age'))).toBe(true);
    expect((await listBackups(store)).backups).toHaveLength(1);
    const plan = await planStorePrune(store, {}, new Date(Date.now() + 2 * 86_400_000), {
      keepLast: 7,
      keepDailyDays: 30,
    });
    expect(plan.delete).toEqual([]);
    expect(plan.orphans.flatMap((o) => o.keys).map((k) => `coopctl/${k}`)).toEqual(left);
    await applyPrune(store, plan);
    expect(await bucketKeys()).toEqual(before);
  });

  it('an SSH drop mid-upload is reported as such; what it left is no backup, and prune clears it', async () => {
    const before = await bucketKeys();
    const backups = (await listBackups(store)).backups.length;
    let dropped = false;
    s3.onRequest((method, url) => {
      if (!dropped && method === 'PUT' && url.includes('partNumber=')) {
        dropped = true;
        h.dropSessions();
      }
    });
    const err = await createBackup(options()).catch((e: unknown) => e);
    expect(dropped).toBe(true);
    expect(err).toMatchObject({ code: 'connection-lost', exitCode: 1 });
    // The host's rclone owns the upload, out of coopctl's reach once the connection is gone: it may still complete
    // its object after coopctl's cleanup ran. Without a manifest that object is no backup, and prune removes it
    // as an orphan once it is a day old (unfinished uploads the store lists are aborted by the cleanup).
    const left = (await bucketKeys()).filter((k) => !before.includes(k));
    expect(left.every((k) => !k.endsWith('/manifest.json'))).toBe(true);
    expect((await listBackups(store)).backups).toHaveLength(backups);
    const plan = await planStorePrune(store, {}, new Date(Date.now() + 2 * 86_400_000), {
      keepLast: 7,
      keepDailyDays: 30,
    });
    expect(plan.orphans.flatMap((o) => o.keys).map((k) => `coopctl/${k}`)).toEqual(left);
    await applyPrune(store, plan);
    expect(await bucketKeys()).toEqual(before);
  });
});
