import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform, type PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup, type CreateBackupOptions } from '../../src/backup/create.js';
import { findBackup, listBackups } from '../../src/backup/catalog.js';
import { parseIdentities } from '../../src/backup/crypto.js';
import { BackupError } from '../../src/backup/errors.js';
import { isVerified, verificationState, type Manifest } from '../../src/backup/manifest.js';
import type { Progress } from '../../src/backup/progress.js';
import { restoreNames, restoreScratch, restoreToNewDatabase } from '../../src/backup/restore.js';
import { swapDatabases } from '../../src/backup/database.js';
import { writeManifest } from '../../src/backup/catalog.js';
import { LocalStore } from '../../src/backup/store/local.js';
import { verifyBackup } from '../../src/backup/verify.js';
import { installComposeStandIn, seedMastodonLike, startPgHost, type PgHost } from '../helpers/pgHost.js';
import type { RemoteHost } from '../../src/remote/ssh.js';

let h: PgHost;
let work: string;
let store: LocalStore;
let identities: string[];
let recipient: string;
let keyFile: string;
let counts: Record<string, number>;
const DB = 'mastodon_production';
const secretsFile = () => path.join(h.root, 'live', '.env.production');

function ageKey(file: string): { identities: string[]; recipient: string } {
  execFileSync('age-keygen', ['-o', file], { stdio: 'pipe' });
  const text = readFileSync(file, 'utf8');
  return { identities: parseIdentities(text, file), recipient: /public key: (age1\w+)/.exec(text)![1] };
}

function options(extra: Partial<CreateBackupOptions> = {}): CreateBackupOptions {
  return {
    source: {
      service: 'mastodon',
      env: 'prod',
      host: h.host,
      db: h.db(DB),
      tables: ['accounts', 'statuses', 'users'],
      secretsFile: secretsFile(),
      version: '4.4.8',
    },
    store,
    encryption: { recipients: [recipient], identityRef: 'pass:coopctl/age-identity' },
    coopctlVersion: '0.1.0',
    onHost: {
      dir: path.join(h.root, 'backups'),
      keep: 3,
      history: { remote: h.host, stateDir: path.join(h.root, 'state') },
    },
    ...extra,
  };
}

beforeAll(async () => {
  h = await startPgHost('rhizome');
  counts = seedMastodonLike(h, DB, { mb: 6 });
  work = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
  store = new LocalStore(path.join(work, 'store'));
  keyFile = path.join(work, 'key.txt');
  ({ identities, recipient } = ageKey(keyFile));
  mkdirSync(path.dirname(secretsFile()), { recursive: true });
  writeFileSync(secretsFile(), 'SECRET_KEY_BASE=3f1c0ffee\nOTP_SECRET=abcdef123456\n');
});

afterAll(async () => {
  await h?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('backup to a local directory', () => {
  let m: Manifest;

  it('creates an encrypted backup with a manifest written last', async () => {
    const progress: Progress[] = [];
    m = await createBackup(options({ onProgress: (p) => progress.push(p) }));
    expect(m).toMatchObject({
      service: 'mastodon',
      env: 'prod',
      host: 'rhizome',
      version: '4.4.8',
      encryption: { algorithm: 'age', recipients: [recipient], identityRef: 'pass:coopctl/age-identity' },
    });
    expect(m.database.rowCounts).toEqual(counts);
    expect(m.database.serverVersion).toMatch(/^15\./);
    expect(m.tools.pgDump).toMatch(/pg_dump \(PostgreSQL\) 15/);
    expect(m.files.map((f) => f.name).sort()).toEqual(['db.dump.zst.age', 'env.production.age']);
    expect(progress.some((p) => p.phase === 'dump' && p.bytes > 0)).toBe(true);
    const listed = await listBackups(store);
    expect(listed.backups.map((b) => b.id)).toEqual([m.id]);
    expect(verificationState(listed.backups[0])).toBe('unverified');
  });

  it('verifies the hash without a key, then the dump with pg_restore --list', async () => {
    const hash = await verifyBackup({ store, manifest: m });
    expect(hash.verification).toMatchObject({ kind: 'hash', ok: true });
    const deep = await verifyBackup({
      store,
      manifest: hash.manifest,
      identities,
      lister: { host: h.host, db: h.db('postgres') },
    });
    expect(deep.verification).toMatchObject({ kind: 'restore-list', ok: true });
    expect(deep.verification.details.tocEntries).toBeGreaterThan(5);
    const again = await findBackup(store, m.id);
    expect(again.verifications.map((v) => v.kind)).toEqual(['hash', 'restore-list']);
    expect(isVerified(again)).toBe(true);
    m = again;
  });

  it('restores into a scratch database, compares row counts and drops it', async () => {
    const r = await restoreScratch({ store, manifest: m, identities, target: { host: h.host, db: h.db('postgres') } });
    expect(r.rowCounts).toEqual(counts);
    expect(r.verification).toMatchObject({ kind: 'restore-scratch', ok: true });
    expect(h.psql(`SELECT count(*) FROM pg_database WHERE datname = '${r.database}'`).trim()).toBe('0');
    m = r.manifest;
  });

  it('restores by hand with the standard tools: age -d | zstd -d | pg_restore', async () => {
    const obj = path.join(store.root, 'mastodon', 'prod', m.id, 'db.dump.zst.age');
    h.psql('CREATE DATABASE byhand');
    const env = { ...process.env, PGHOST: h.cluster.socketDir, PGPORT: String(h.cluster.port), PGUSER: 'postgres' };
    const r = spawnSync(
      'bash',
      ['-c', 'set -o pipefail; age -d -i "$1" "$2" | zstd -d | pg_restore --no-owner -d byhand', 'sh', keyFile, obj],
      { env, encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(h.psql('SELECT count(*) FROM statuses', 'byhand').trim()).toBe(String(counts.statuses));
    const secrets = execFileSync('age', [
      '-d',
      '-i',
      keyFile,
      path.join(store.root, 'mastodon', 'prod', m.id, 'env.production.age'),
    ]).toString();
    expect(secrets).toContain('OTP_SECRET=abcdef123456');
  });
});

const AGE_HEADER = 'age-encryption.org/v1\n';

/**
 * h.host, recording the bytes each data stream carries between the host and this machine: what a command sends
 * (stdout) and what it is fed (stdin). With `tamper`, the byte at 1000 of a relayed age file (the dump's: the
 * secrets file's is shorter) is changed on its way here; `onRelayed` is told how much of each has come.
 */
function relayWatch(watch: { tamper?: boolean; onRelayed?: (bytes: number) => void } = {}): {
  host: RemoteHost;
  out: Buffer[][];
  fed: Buffer[][];
} {
  const out: Buffer[][] = [];
  const fed: Buffer[][] = [];
  const tap = (seen: Buffer[], relay: { tamper?: boolean; onRelayed?: (bytes: number) => void } = {}) => {
    let bytes = 0;
    return new Transform({
      transform(chunk: Buffer, _e, cb) {
        let b = chunk;
        const isAge =
          Buffer.concat([...seen, b])
            .subarray(0, AGE_HEADER.length)
            .toString() === AGE_HEADER;
        if (isAge && relay.tamper && bytes <= 1000 && bytes + b.length > 1000) {
          b = Buffer.from(chunk);
          b[1000 - bytes] ^= 0x01;
        }
        bytes += b.length;
        seen.push(b);
        if (isAge) relay.onRelayed?.(bytes);
        cb(null, b);
      },
    });
  };
  const host: RemoteHost = {
    target: h.host.target,
    stallTimeoutMs: h.host.stallTimeoutMs,
    exec: (cmd, o) => h.host.exec(cmd, o),
    close: () => h.host.close(),
    async stream(cmd, o) {
      let stdin = o.stdin;
      if (stdin instanceof Readable) {
        fed.push([]);
        stdin = stdin.pipe(tap(fed.at(-1)!));
      }
      const handle = await h.host.stream(cmd, { ...o, stdin });
      out.push([]);
      const stdout = tap(out.at(-1)!, watch);
      handle.stdout.pipe(stdout);
      return { ...handle, stdout: stdout.on('error', () => {}) as unknown as PassThrough };
    },
  };
  return { host, out, fed };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('a local store receives the ciphertext the host made, nothing else', () => {
  it('no plaintext byte of the dump crosses the link: the relay carries what the host hashed, as stored', async () => {
    const w = relayWatch();
    const m = await createBackup(options({ source: { ...options().source, host: w.host } }));
    const carried = w.out.map((chunks) => Buffer.concat(chunks)).filter((b) => b.length > 0);
    const stored = m.files.map((f) => readFileSync(path.join(store.root, 'mastodon', 'prod', m.id, f.name)));
    // The stored objects came through here as age wrote them on the host, and what else came is reports (progress,
    // hashes, the inspection's row counts): a few KiB of text.
    const relays = carried.filter((b) => b.subarray(0, AGE_HEADER.length).toString() === AGE_HEADER);
    expect(relays.map(sha256).sort()).toEqual(m.files.map((f) => f.sha256).sort());
    expect(stored.map(sha256).sort()).toEqual(m.files.map((f) => f.sha256).sort());
    const reports = carried.filter((b) => !relays.includes(b));
    expect(reports.reduce((n, b) => n + b.length, 0)).toBeLessThan(64 * 1024);
    const copy = readFileSync(m.hostCopy!.file);
    expect(sha256(copy)).toBe(m.plainSha256);
    for (const b of carried) expect(b.includes(copy.subarray(0, 4096))).toBe(false);

    // Read back for a restore test: the host gets the ciphertext, and decrypts it there.
    const r = await restoreScratch({ store, manifest: m, identities, target: { host: w.host, db: h.db('postgres') } });
    expect(r.rowCounts).toEqual(counts);
    const sent = w.fed.map((chunks) => Buffer.concat(chunks)).filter((b) => b.includes(AGE_HEADER));
    expect(sent).toHaveLength(1);
    expect(sent[0].includes(copy.subarray(0, 4096))).toBe(false);
    expect(sha256(sent[0].subarray(sent[0].indexOf(AGE_HEADER)))).toBe(m.sha256);
  });

  it('a relay that changes a byte on its way fails the backup: nothing kept here or on the host', async () => {
    const before = (await listBackups(store)).backups.map((b) => b.id);
    const keys = await store.list('');
    const w = relayWatch({ tamper: true });
    const err = await createBackup(options({ source: { ...options().source, host: w.host } })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'upload-failed', exitCode: 1 });
    expect((err as Error).message).toMatch(
      /received other bytes of mastodon\/prod\/\S+\/db\.dump\.zst\.age than rhizome sent/,
    );
    expect((await listBackups(store)).backups.map((b) => b.id)).toEqual(before);
    expect((await store.list('')).sort()).toEqual(keys.sort());
    const copies = path.join(h.root, 'backups', 'mastodon', 'prod');
    const ids = existsSync(copies) ? readdirSync(copies) : [];
    expect(ids.filter((id) => !before.includes(id))).toEqual([]);
  });
});

describe("the production layout: PostgreSQL inside the compose project's db container", () => {
  it('runs pg_dump, psql, createdb, pg_restore and dropdb through docker compose exec -T', async () => {
    const docker = installComposeStandIn(h);
    try {
      const db = { ...h.db(DB), container: 'db', composeDir: path.dirname(secretsFile()) };
      const m = await createBackup(options({ source: { ...options().source, db } }));
      const r = await restoreScratch({ store, manifest: m, identities, target: { host: h.host, db } });
      expect(r.rowCounts).toEqual(counts);
      const tools = readFileSync(docker.log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[8]);
      expect(new Set(tools)).toEqual(new Set(['pg_dump', 'psql', 'createdb', 'pg_restore', 'dropdb']));
    } finally {
      docker.remove();
    }
  });
});

describe('what a backup refuses or records', () => {
  it('refuses to write an unencrypted backup unless told to, and then leaves the secrets file out', async () => {
    await expect(createBackup(options({ encryption: null }))).rejects.toMatchObject({ code: 'config', exitCode: 2 });
    const plain = await createBackup(options({ encryption: null, allowPlaintext: true, compression: { level: 1 } }));
    expect(plain.encryption).toEqual({ algorithm: 'none' });
    expect(plain.files.map((f) => f.name)).toEqual(['db.dump.zst']);
    expect(plain.notes.join(' ')).toMatch(/never stored unencrypted/);
    expect(plain.compression).toEqual({ algorithm: 'zstd', level: 1, where: 'host' });
    const r = await verifyBackup({ store, manifest: plain, lister: { host: h.host, db: h.db('postgres') } });
    expect(r.verification.ok).toBe(true);
  });

  it('never writes a secret value into a manifest', async () => {
    const { registerSecret } = await import('../../src/kernel/redact.js');
    registerSecret('pass:coopctl/age-identity-SECRETVALUE');
    const m = await createBackup(
      options({ encryption: { recipients: [recipient], identityRef: 'pass:coopctl/age-identity-SECRETVALUE' } }),
    );
    const text = readFileSync(path.join(store.root, 'mastodon', 'prod', m.id, 'manifest.json'), 'utf8');
    expect(text).not.toContain('SECRETVALUE');
    expect(text).not.toContain('abcdef123456');
    expect(text).toContain('[REDACTED]');
  });
});

describe('failure paths', () => {
  const manifestsBefore = async () => (await listBackups(store)).backups.map((b) => b.id).sort();
  /** Every object in the store belongs to a backup with a manifest. */
  const incomplete = async () => {
    const keys = await store.list('');
    return keys.filter((k) => !keys.includes(k.replace(/[^/]+$/, 'manifest.json')));
  };

  it('a tampered object fails verify with expected and actual hashes, recorded in the manifest', async () => {
    const m = await createBackup(options());
    const obj = path.join(store.root, 'mastodon', 'prod', m.id, 'db.dump.zst.age');
    const bytes = readFileSync(obj);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(obj, bytes);
    const err = await verifyBackup({
      store,
      manifest: m,
      identities,
      lister: { host: h.host, db: h.db('postgres') },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupError);
    expect(err).toMatchObject({ code: 'tampered', exitCode: 1 });
    expect((err as Error).message).toContain(`expected ${m.sha256}`);
    expect((err as Error).message).toMatch(/actual [0-9a-f]{64}/);
    const after = await findBackup(store, m.id);
    expect(verificationState(after)).toBe('failed');
    expect(after.verifications[0]).toMatchObject({ ok: false, details: { code: 'tampered' } });
    expect(existsSync(obj)).toBe(true);
  });

  it('a wrong key fails clearly and does not mark the backup as bad', async () => {
    const [good] = (await listBackups(store, { service: 'mastodon', env: 'prod' })).backups.filter(
      (b) => isVerified(b) && b.encryption.algorithm === 'age',
    );
    const other = ageKey(path.join(work, 'other-key.txt'));
    const err = await restoreScratch({
      store,
      manifest: good,
      identities: other.identities,
      target: { host: h.host, db: h.db('postgres') },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'wrong-key', exitCode: 1 });
    expect((err as Error).message).toMatch(/wrong key/);
    const after = await findBackup(store, good.id);
    expect(after.verifications).toEqual(good.verifications);
    expect(h.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'coopctl_scratch_%'").trim()).toBe('0');
  });

  it('a corrupt dump passes the hash but fails the scratch restore, recorded, scratch dropped', async () => {
    // A pg_dump that loses the end of its output and still exits 0.
    const standIn = path.join(h.bin, 'pg_dump');
    writeFileSync(standIn, '#!/bin/sh\n/usr/bin/pg_dump "$@" | head -c 1000000\n', { mode: 0o755 });
    let m: Manifest;
    try {
      m = await createBackup(options());
    } finally {
      rmSync(standIn);
    }
    expect((await verifyBackup({ store, manifest: m })).verification.ok).toBe(true);
    const err = await restoreScratch({
      store,
      manifest: m,
      identities,
      target: { host: h.host, db: h.db('postgres') },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'corrupt-dump', exitCode: 1 });
    expect((err as Error).message).toMatch(/pg_restore into coopctl_scratch_\w+ failed on rhizome/);
    const after = await findBackup(store, m.id);
    expect(verificationState(after)).toBe('failed');
    expect(after.verifications.at(-1)).toMatchObject({ kind: 'restore-scratch', ok: false });
    expect(h.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'coopctl_scratch_%'").trim()).toBe('0');
  });

  it('an SSH connection dropped mid-relay leaves nothing behind and deletes nothing else', async () => {
    const before = await manifestsBefore();
    let dropped = false;
    // The dump's ciphertext is some hundred KiB, that of the secrets file a few hundred bytes.
    const w = relayWatch({
      onRelayed: (bytes) => {
        if (bytes > 4096 && !dropped) {
          dropped = true;
          h.dropSessions();
        }
      },
    });
    const err = await createBackup(options({ source: { ...options().source, host: w.host } })).catch((e: unknown) => e);
    expect(dropped).toBe(true);
    expect(err).toMatchObject({ code: 'connection-lost', exitCode: 1 });
    expect((err as Error).message).toMatch(/connection to rhizome was lost while sending \S+\/db\.dump\.zst/);
    expect(await manifestsBefore()).toEqual(before);
    expect(await incomplete()).toEqual([]);
    // The pool reconnects for the next operation.
    expect((await h.host.exec(['true'], { mutates: false })).exitCode).toBe(0);
  });

  it('a database that is not there fails with what PostgreSQL said, before anything is stored', async () => {
    const before = await store.list('');
    const err = await createBackup(options({ source: { ...options().source, db: h.db('mastodon_typo') } })).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'dump-failed', exitCode: 1 });
    expect((err as Error).message).toMatch(
      /cannot inspect database mastodon_typo on rhizome: .*database "mastodon_typo" does not exist/,
    );
    expect(await store.list('')).toEqual(before);
  });

  it('an interrupt (Ctrl+C) stops the dump and keeps nothing', async () => {
    const before = await manifestsBefore();
    const ac = new AbortController();
    const err = await createBackup(
      options({ signal: ac.signal, onProgress: (p) => p.phase === 'dump' && p.bytes > 0 && ac.abort() }),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'interrupted', exitCode: 130 });
    expect(await manifestsBefore()).toEqual(before);
    expect(await incomplete()).toEqual([]);
  });

  it('a full local disk fails with disk-full and removes the partial object', async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip(); // mounting a tiny tmpfs needs root
    const mnt = mkdtempSync(path.join(os.tmpdir(), 'coopctl-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
    try {
      const small = new LocalStore(path.join(mnt, 'store'));
      const err = await createBackup(options({ store: small })).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'disk-full', exitCode: 1 });
      expect((err as Error).message).toMatch(/is full: no space left writing mastodon\/prod\/\S+\/db\.dump\.zst\.age/);
      expect(await small.list('')).toEqual([]);
      expect(execFileSync('find', [mnt, '-type', 'f']).toString()).toBe('');
    } finally {
      execFileSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });
});

describe('restore into an environment (the steps; the lead orchestrates them)', () => {
  it('restores to a new database, checks it, then swaps names keeping the old one', async () => {
    const m = await createBackup(options());
    h.psql("INSERT INTO statuses (account_id, text) VALUES (1, 'written after the backup')", DB);
    const names = restoreNames(DB);
    const target = { host: h.host, db: h.db(DB) };
    await expect(restoreToNewDatabase({ store, manifest: m, identities, target, database: DB })).rejects.toMatchObject({
      code: 'database-step-failed',
    });
    const restored = await restoreToNewDatabase({ store, manifest: m, identities, target, database: names.restored });
    expect(restored.rowCounts).toEqual(counts);
    expect(h.psql('SELECT count(*) FROM statuses', DB).trim()).toBe(String(counts.statuses + 1));
    await swapDatabases(h.host, h.db(DB), { live: DB, restored: names.restored, previous: names.previous });
    expect(h.psql('SELECT count(*) FROM statuses', DB).trim()).toBe(String(counts.statuses));
    expect(h.psql('SELECT count(*) FROM statuses', names.previous).trim()).toBe(String(counts.statuses + 1));
  });

  it('a manifest whose row counts disagree with the dump fails the restore check and drops the new database', async () => {
    const m = await createBackup(options());
    const wrong = {
      ...m,
      database: { ...m.database, rowCounts: { ...m.database.rowCounts, statuses: m.database.rowCounts.statuses + 5 } },
    };
    await writeManifest(store, wrong);
    const names = restoreNames(DB);
    const err = await restoreToNewDatabase({
      store,
      manifest: wrong,
      identities,
      target: { host: h.host, db: h.db(DB) },
      database: names.restored,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'restore-mismatch' });
    expect((err as Error).message).toContain(`statuses: expected ${counts.statuses + 5}, restored ${counts.statuses}`);
    expect(h.psql(`SELECT count(*) FROM pg_database WHERE datname = '${names.restored}'`).trim()).toBe('0');
  });
});
