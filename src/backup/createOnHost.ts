import { errorMessage } from '../kernel/errors.js';
import { BackupError } from './errors.js';
import { assertLevel, DEFAULT_COMPRESSION, dumpSession, readFileCommand } from './commands.js';
import { backupSettings, type CreateBackupOptions } from './create.js';
import { inspectBeforeDump, mariadbDumpVersion } from './mariadbHost.js';
import { endSessions, openSnapshot, pgDumpVersion } from './database.js';
import {
  hostCopyFile,
  pruneHostCopies,
  removeHostCopy,
  writeHostCopy,
  writeHostManifest,
  type HostCopy,
} from './hostCopy.js';
import { parseUpload, uploadCommand, type HostS3 } from './hostS3.js';
import { required, runReporting, scriptFailure } from './hostRun.js';
import { backupsInUse, type HistoryHost } from './inUse.js';
import { backupDir, FILE_NAMES, newBackupId } from './ids.js';
import { serializeManifest, type BackupFile, type Manifest } from './manifest.js';
import { throttled } from './progress.js';
import { transferToStore } from './transfer.js';

/**
 * A backup taken on the host: first the on-host copy (checked there), then the same bytes, encrypted, to the store
 * (an S3 store: by the host itself, with age and rclone, nothing through this machine; the `local` store, a
 * directory on this machine: through the SSH connection), the manifest last.
 */
interface HostBackupOptions extends CreateBackupOptions {
  /** `history`: where the service×env's lock and history are, which tell the copies a change uses. */
  onHost: { dir: string; keep: number; history: HistoryHost };
}

/** The checked on-host copy, with everything the manifest needs. */
interface HostCopied {
  copy: HostCopy;
  started: Date;
  file: string;
  size: number;
  plainSha256: string;
  facts: Manifest['database'];
  pgDump: string;
}

/** pg_dump in a snapshot → zstd → the on-host copy, checked (size, sha256, zstd -t, pg_restore --list). */
export async function takeHostCopy(o: HostBackupOptions): Promise<HostCopied> {
  const { source } = o;
  const { recipients } = backupSettings(o);
  if (!recipients) throw new BackupError('dump-failed', 'a backup on the host is always encrypted for the store');
  const now = o.now ?? (() => new Date());
  const started = now();
  const copy: HostCopy = { base: o.onHost.dir, service: source.service, env: source.env, id: newBackupId(started) };
  await o.store.check();
  o.onProgress?.({ phase: 'inspect', bytes: 0 });
  // Side by side: each is a round trip to the host, and a container exec there.
  const mariadb = source.db.engine === 'mariadb';
  const [version, opened] = await Promise.allSettled([
    (mariadb ? mariadbDumpVersion : pgDumpVersion)(source.host, source.db),
    (mariadb ? inspectBeforeDump : openSnapshot)(source.host, source.db, source.tables),
  ]);
  if (version.status === 'rejected') {
    if (opened.status === 'fulfilled') await opened.value.close();
    throw version.reason;
  }
  if (opened.status === 'rejected') throw opened.reason;
  const pgDump = version.value;
  const session = opened.value;
  const progress = throttled(o.onProgress, 'dump');
  let written;
  try {
    written = await writeHostCopy(source.host, copy, {
      db: source.db,
      snapshot: session.snapshot,
      level: assertLevel(o.compression?.level ?? DEFAULT_COMPRESSION.level),
      onBytes: progress.update,
      signal: o.signal,
    });
  } catch (err) {
    // Under `docker exec` a pg_dump outlives the command that started it.
    if (!mariadb) await endSessions(source.host, source.db, { app: dumpSession(copy.id) }).catch(() => {});
    throw err;
  } finally {
    await session.close();
  }
  progress.done(written.size);
  const facts = { name: source.db.name, ...session.facts };
  await writeHostManifest(source.host, copy, {
    format: 1,
    id: copy.id,
    service: copy.service,
    env: copy.env,
    createdAt: started.toISOString(),
    file: 'db.dump.zst',
    size: written.size,
    sha256: written.sha256,
    checks: ['size', 'sha256', 'zstd -t', mariadb ? 'mariadb-dump footer' : 'pg_restore --list'],
    database: facts,
  }).catch(async (err: unknown) => {
    await removeHostCopy(source.host, copy);
    throw err;
  });
  return { copy, started, file: written.file, size: written.size, plainSha256: written.sha256, facts, pgDump };
}

interface Sent {
  size: number;
  sha256: string;
  plainSha256: string;
}

/** An on-host file, encrypted on the host, to the S3 store by the host. */
async function uploadFromHost(o: HostBackupOptions, s3: HostS3, file: string, key: string, size: number) {
  const host = o.source.host;
  const { recipients } = backupSettings(o);
  const { cmd, stdin } = uploadCommand(s3, { file, fileBytes: size, key, recipients: recipients! });
  const progress = throttled(o.onProgress, 'upload', size);
  const r = await runReporting(host, cmd, { stdin, onBytes: progress.update, signal: o.signal });
  const what = `the upload of ${file} to ${o.store.description}`;
  if (r.code !== 0) throw scriptFailure(host, what, r, 'upload-failed');
  progress.done(size);
  return required(parseUpload(r.stdout), host, what, r);
}

/** An on-host file through this machine into a store here (the `local` store). */
async function sendThroughHere(o: HostBackupOptions, file: string, key: string): Promise<Sent> {
  const { recipients } = backupSettings(o);
  const progress = throttled(o.onProgress, 'upload');
  const r = await transferToStore({
    host: o.source.host,
    handle: await o.source.host.stream(readFileCommand(file), { mutates: false }),
    what: `reading ${file}`,
    recipients,
    store: o.store,
    key,
    onBytes: progress.update,
    signal: o.signal,
  });
  progress.done(r.plainBytes);
  return r;
}

async function hostSha256(o: HostBackupOptions, file: string): Promise<string> {
  const r = await o.source.host.exec(['sha256sum', '--', file], { mutates: false, reject: false });
  if (r.exitCode !== 0)
    throw scriptFailure(o.source.host, `sha256sum ${file}`, { ...r, code: r.exitCode }, 'dump-failed');
  return required(/^([0-9a-f]{64}) /.exec(r.stdout)?.[1], o.source.host, `sha256sum ${file}`, {
    ...r,
    code: r.exitCode,
  });
}

/**
 * The on-host copy's bytes (and the secrets file), encrypted, to the store; the manifest last. On failure what
 * this backup wrote to the store is removed, and the on-host copy too: a backup that did not reach the store does
 * not exist. On success older on-host copies beyond backup.onHost.keep are pruned.
 */
export async function sendOffsite(o: HostBackupOptions, c: HostCopied): Promise<Manifest> {
  const { source, store } = o;
  const { encryption } = backupSettings(o);
  const dir = backupDir(source.service, source.env, c.copy.id);
  const s3 = store.hostAccess?.();
  const send = async (file: string, name: string, size: number): Promise<Sent> => {
    written.push(dir + name);
    if (!s3) return sendThroughHere(o, file, dir + name);
    const up = await uploadFromHost(o, s3, file, dir + name, size);
    const plain = file === c.file ? c.plainSha256 : await hostSha256(o, file);
    return { ...up, plainSha256: plain };
  };
  const written: string[] = [];
  const notes: string[] = [];
  try {
    const files: BackupFile[] = [];
    if (source.secretsFile) {
      const r = await send(source.secretsFile, FILE_NAMES.secrets, 0);
      files.push({ name: FILE_NAMES.secrets, kind: 'secrets', ...pick(r) });
    }
    const db = await send(c.file, FILE_NAMES.database.encrypted, c.size);
    if (db.plainSha256 !== c.plainSha256) {
      throw new BackupError('upload-failed', `${c.file} changed while it was sent to ${store.description}`);
    }
    files.unshift({ name: FILE_NAMES.database.encrypted, kind: 'database', ...pick(db) });
    const now = o.now ?? (() => new Date());
    const manifest: Manifest = {
      format: 1,
      id: c.copy.id,
      service: source.service,
      env: source.env,
      host: source.host.target.name,
      version: source.version ?? null,
      database: c.facts,
      createdAt: c.started.toISOString(),
      completedAt: now().toISOString(),
      size: db.size,
      sha256: db.sha256,
      plainSha256: db.plainSha256,
      compression: { algorithm: 'zstd', level: o.compression?.level ?? DEFAULT_COMPRESSION.level, where: 'host' },
      encryption,
      files,
      tools: { pgDump: c.pgDump, coopctl: o.coopctlVersion },
      notes,
      hostCopy: { host: source.host.target.name, file: c.file },
      verifications: [],
    };
    await store.putText(dir + FILE_NAMES.manifest, serializeManifest(manifest));
    await pruneOlderCopies(o, c.copy);
    return manifest;
  } catch (err) {
    await store.delete(written).catch(() => {});
    await removeHostCopy(source.host, c.copy);
    throw err;
  }
}

/** The on-host retention, never removing a copy a change uses; when that cannot be told, nothing is removed. */
async function pruneOlderCopies(o: HostBackupOptions, copy: HostCopy): Promise<void> {
  const inUse = await backupsInUse(o.onHost.history, o.source.service, o.source.env).catch((err: unknown) => {
    o.log?.(`older on-host copies kept: which ones a change uses could not be read (${errorMessage(err)})`);
    return undefined;
  });
  if (inUse) await pruneHostCopies(o.source.host, copy, o.onHost.keep, inUse);
}

function pick(r: Sent): Pick<BackupFile, 'size' | 'sha256' | 'plainSha256'> {
  return { size: r.size, sha256: r.sha256, plainSha256: r.plainSha256 };
}

/** takeHostCopy, then sendOffsite. */
export async function createBackupOnHost(o: HostBackupOptions): Promise<{ manifest: Manifest; hostCopy: string }> {
  const c = await takeHostCopy(o);
  return { manifest: await sendOffsite(o, c), hostCopy: hostCopyFile(c.copy) };
}
