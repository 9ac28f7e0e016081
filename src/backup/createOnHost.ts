import { errorMessage } from '../kernel/errors.js';
import { BackupError } from './errors.js';
import { dumpSession } from './commands.js';
import { backupSettings, type CreateBackupOptions } from './settings.js';
import { inspectBeforeDump, mariadbDumpVersion } from './mariadbHost.js';
import { endSessions, openSnapshot, pgDumpVersion } from './database.js';
import { pruneHostCopies, removeHostCopy, writeHostCopy, writeHostManifest, type HostCopy } from './hostCopy.js';
import { uploadCommand, type HostS3 } from './hostS3.js';
import { required, runReporting, scriptFailure } from './hostRun.js';
import { backupsInUse } from './inUse.js';
import { backupDir, FILE_NAMES, newBackupId } from './ids.js';
import { buildManifest, serializeManifest, type BackupFile, type Manifest, type VolumeInfo } from './manifest.js';
import { throttled } from './progress.js';
import { parseSent, relayCommand, type Sent } from './send.js';
import type { BackupStore } from './store/types.js';
import { relayToStore } from './transfer.js';
import { writeVolumeCopy, type VolumeCopy } from './volumeCopy.js';
import { volumeFileNames } from './volumes.js';

/**
 * A backup is taken on the host, whatever the store: first the on-host copy (checked there), then each part (the
 * secrets file, the database) encrypted by the host with age and hashed there, sent to the store (an S3 store: by
 * the host itself, with rclone; the `local` store, a directory on this machine: relayed through the SSH connection,
 * as ciphertext), the manifest last, built from what the host reported.
 */

/** The checked on-host copy, with everything the manifest needs. */
interface HostCopied {
  copy: HostCopy;
  started: Date;
  file: string;
  size: number;
  plainSha256: string;
  facts: Manifest['database'];
  pgDump: string;
  /** The volumes' archives, beside the database's copy. */
  volumes: VolumeCopy[];
}

/** pg_dump in a snapshot → zstd → the on-host copy, checked (size, sha256, zstd -t, pg_restore --list). */
export async function takeHostCopy(o: CreateBackupOptions): Promise<HostCopied> {
  const { source } = o;
  const { level } = backupSettings(o);
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
      level,
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
  // MariaDB's row counts run beside the dump (mariadbHost.ts): a copy whose counts failed is no backup
  const facts = await Promise.resolve(session.facts).then(
    (f) => ({ name: source.db.name, ...f }),
    async (err: unknown) => {
      await removeHostCopy(source.host, copy);
      throw err;
    },
  );
  const volumes = await copyVolumes(o, copy, level).catch(async (err: unknown) => {
    await removeHostCopy(source.host, copy);
    throw err;
  });
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
    volumes: volumes.map(volumeInfo),
  }).catch(async (err: unknown) => {
    await removeHostCopy(source.host, copy);
    throw err;
  });
  return { copy, started, file: written.file, size: written.size, plainSha256: written.sha256, facts, pgDump, volumes };
}

const volumeInfo = (v: VolumeCopy): VolumeInfo => ({
  name: v.volume.name,
  docker: v.volume.volume,
  files: v.files,
  bytes: v.bytes,
  listSha256: v.listSha256,
  ...(v.changedWhileArchived && { changedWhileArchived: true }),
});

/** Each volume of the source archived into the copy, one after the other (each reads a disk as fast as it can). */
async function copyVolumes(o: CreateBackupOptions, copy: HostCopy, level: number): Promise<VolumeCopy[]> {
  const copies: VolumeCopy[] = [];
  for (const v of o.source.volumes ?? []) {
    const progress = throttled(o.onProgress, 'volume');
    const c = await writeVolumeCopy(o.source.host, copy, v, { level, onBytes: progress.update, signal: o.signal });
    progress.done(c.size);
    copies.push(c);
  }
  return copies;
}

/** One part on the host, sealed there, to the S3 store by the host. */
async function uploadFromHost(o: CreateBackupOptions, s3: HostS3, file: string, key: string, size: number) {
  const host = o.source.host;
  const { recipients } = backupSettings(o);
  const { cmd, stdin } = uploadCommand(s3, { file, fileBytes: size, key, recipients });
  const progress = throttled(o.onProgress, 'upload', size);
  const r = await runReporting(host, cmd, { stdin, onBytes: progress.update, signal: o.signal });
  const what = `the upload of ${file} to ${o.store.description}`;
  if (r.code !== 0) throw scriptFailure(host, what, r, 'upload-failed');
  progress.done(size);
  return required(parseSent(r.stdout), host, what, r);
}

/** One part on the host, sealed there, relayed as it is into a store on this machine (the `local` store). */
async function relayFromHost(o: CreateBackupOptions, file: string, key: string, size: number): Promise<Sent> {
  const { recipients } = backupSettings(o);
  const progress = throttled(o.onProgress, 'upload', size);
  const sent = await relayToStore({
    host: o.source.host,
    cmd: relayCommand(file, recipients),
    what: `sending ${file}`,
    store: o.store,
    key,
    onBytes: progress.update,
    signal: o.signal,
  });
  progress.done(size);
  return sent;
}

/**
 * The on-host copy's bytes (and the secrets file, only encrypted), sealed on the host, to the store; the manifest
 * last. On failure what this backup wrote to the store is removed, and the on-host copy too: a backup that did not
 * reach the store does not exist. On success older on-host copies beyond backup.onHost.keep are pruned.
 */
export async function sendOffsite(o: CreateBackupOptions, c: HostCopied): Promise<Manifest> {
  const { source, store } = o;
  const { encryption, level } = backupSettings(o);
  const dir = backupDir(source.service, source.env, c.copy.id);
  const s3 = store.hostAccess?.();
  const encrypted = encryption.algorithm === 'age';
  const written: string[] = [];
  const send = async (
    file: string,
    kind: BackupFile['kind'],
    name: string,
    size: number,
    plainSha256?: string,
  ): Promise<BackupFile> => {
    written.push(dir + name);
    const r = s3 ? await uploadFromHost(o, s3, file, dir + name, size) : await relayFromHost(o, file, dir + name, size);
    if (plainSha256 && r.plainSha256 !== plainSha256)
      throw new BackupError('upload-failed', `${file} changed while it was sent to ${store.description}`);
    return { name, kind, size: r.size, sha256: r.sha256, plainSha256: r.plainSha256 };
  };
  const notes: string[] = [];
  try {
    const parts: BackupFile[] = [];
    if (source.secretsFile && encrypted) parts.push(await send(source.secretsFile, 'secrets', FILE_NAMES.secrets, 0));
    else if (source.secretsFile) notes.push(`${source.secretsFile} was not captured: it is never stored unencrypted`);
    const dbName = encrypted ? FILE_NAMES.database.encrypted : FILE_NAMES.database.plain;
    parts.push(await send(c.file, 'database', dbName, c.size, c.plainSha256));
    for (const v of c.volumes) {
      const names = volumeFileNames(v.volume.name, encrypted);
      const info = volumeInfo(v);
      parts.push({ ...(await send(v.archive, 'volume', names.archive, v.size, v.sha256)), volume: info });
      parts.push({ ...(await send(v.list, 'volume-list', names.list, 0)), volume: info });
    }
    const now = o.now ?? (() => new Date());
    const manifest = buildManifest({
      id: c.copy.id,
      service: source.service,
      env: source.env,
      host: source.host.target.name,
      version: source.version ?? null,
      database: c.facts,
      createdAt: c.started.toISOString(),
      completedAt: now().toISOString(),
      level,
      encryption,
      parts,
      tools: { pgDump: c.pgDump, coopctl: o.coopctlVersion },
      notes,
      hostCopy: { host: source.host.target.name, file: c.file },
    });
    await store.putText(dir + FILE_NAMES.manifest, serializeManifest(manifest));
    await pruneOlderCopies(o, c.copy);
    return manifest;
  } catch (err) {
    await store.delete(written).catch(() => {});
    await discardUnfinished(store, dir);
    await removeHostCopy(source.host, c.copy);
    throw err;
  }
}

/**
 * What an upload the host could not finish left in the store (an S3 multipart upload, when rclone was stopped with
 * its connection): aborted, best effort; what remains is no object, and `backup prune` clears it later.
 */
async function discardUnfinished(store: BackupStore, dir: string): Promise<void> {
  const left = await store.unfinished(dir).catch(() => []);
  for (const w of left) await store.discard(w).catch(() => {});
}

/** The on-host retention, never removing a copy a change uses; when that cannot be told, nothing is removed. */
async function pruneOlderCopies(o: CreateBackupOptions, copy: HostCopy): Promise<void> {
  const inUse = await backupsInUse(o.onHost.history, o.source.service, o.source.env).catch((err: unknown) => {
    o.log?.(`older on-host copies kept: which ones a change uses could not be read (${errorMessage(err)})`);
    return undefined;
  });
  if (inUse) await pruneHostCopies(o.source.host, copy, o.onHost.keep, inUse);
}
