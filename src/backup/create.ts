import { ConfigError } from '../kernel/errors.js';
import { assertName } from '../kernel/validate.js';
import type { RemoteHost } from '../remote/ssh.js';
import {
  assertDbTarget,
  assertLevel,
  DEFAULT_COMPRESSION,
  dumpCommand,
  dumpSession,
  readFileCommand,
  zstdCompress,
  type Compression,
  type DbTarget,
} from './commands.js';
import { assertRecipients } from './crypto.js';
import { endSessions, openSnapshot, pgDumpVersion } from './database.js';
import { backupDir, FILE_NAMES, newBackupId } from './ids.js';
import { localFilter } from './localFilter.js';
import { serializeManifest, type BackupFile, type EncryptionInfo, type Manifest } from './manifest.js';
import { throttled, type ProgressListener } from './progress.js';
import type { BackupStore } from './store/types.js';
import { transferToStore } from './transfer.js';

export interface BackupSource {
  service: string;
  env: string;
  host: RemoteHost;
  db: DbTarget;
  /** Tables whose row counts go into the manifest (and are checked after a restore). */
  tables: readonly string[];
  /** Absolute path of the service's secrets file on the host (in the data dir, e.g. Mastodon's .env.production). */
  secretsFile?: string;
  /** The service's version as it reports it, when known. */
  version?: string | null;
}

export interface EncryptionSettings {
  /** age public keys (age1...) of every operator who may restore. */
  recipients: readonly string[];
  /** The secret reference text holding the identity (describeSecretRef), recorded in the manifest. */
  identityRef?: string | null;
}

export interface CreateBackupOptions {
  source: BackupSource;
  store: BackupStore;
  /** Unset: refused unless allowPlaintext. */
  encryption?: EncryptionSettings | null;
  allowPlaintext?: boolean;
  compression?: Partial<Compression>;
  coopctlVersion: string;
  onProgress?: ProgressListener;
  log?: (line: string) => void;
  signal?: AbortSignal;
  now?: () => Date;
}

/**
 * The secrets file, then pg_dump on the host → zstd → SSH → age → store,
 * never a temp file or the whole dump in memory; the manifest last. On any failure (Ctrl-C included) the objects
 * this backup wrote are removed, its dump session on the host is ended, and no manifest exists, so nothing
 * half-done is ever listed or left running.
 */
export async function createBackup(o: CreateBackupOptions): Promise<Manifest> {
  const { source, store } = o;
  const now = o.now ?? (() => new Date());
  assertName(source.service, 'service');
  assertName(source.env, 'environment');
  assertDbTarget(source.db);
  const compression: Compression = { ...DEFAULT_COMPRESSION, ...o.compression };
  assertLevel(compression.level);
  const recipients = o.encryption?.recipients.length ? o.encryption.recipients : undefined;
  if (recipients) assertRecipients(recipients);
  else if (!o.allowPlaintext) {
    throw new ConfigError('backup.encryption is not configured: refusing to write an unencrypted backup', {
      hints: [
        'add backup.encryption.recipients (age public keys) and backup.encryption.identity to coopctl.yaml, ' +
          'or allow a plaintext backup explicitly',
      ],
    });
  }
  const encryption: EncryptionInfo = recipients
    ? { algorithm: 'age', recipients: [...recipients], identityRef: o.encryption?.identityRef ?? null }
    : { algorithm: 'none' };

  const started = now();
  const id = newBackupId(started);
  const dir = backupDir(source.service, source.env, id);
  const dbName = recipients ? FILE_NAMES.database.encrypted : FILE_NAMES.database.plain;
  const host = source.host;
  const notes: string[] = [];
  const transfer = { host, recipients, store, signal: o.signal };

  await store.check();
  o.onProgress?.({ phase: 'inspect', bytes: 0 });
  const pgDump = await pgDumpVersion(host, source.db);

  const written: string[] = [];
  try {
    const files: BackupFile[] = [];
    // The secrets file first: small, and a wrong path fails before the long dump.
    if (source.secretsFile && recipients) {
      const key = dir + FILE_NAMES.secrets;
      const progress = throttled(o.onProgress, 'secrets');
      written.push(key);
      const r = await transferToStore({
        ...transfer,
        handle: await host.stream(readFileCommand(source.secretsFile), { mutates: false }),
        what: `reading ${source.secretsFile}`,
        key,
        onBytes: progress.update,
      });
      progress.done(r.plainBytes);
      files.push({
        name: FILE_NAMES.secrets,
        kind: 'secrets',
        size: r.size,
        sha256: r.sha256,
        plainSha256: r.plainSha256,
      });
    } else if (source.secretsFile) {
      notes.push(`${source.secretsFile} was not captured: it is never stored unencrypted`);
    }

    const session = await openSnapshot(host, source.db, source.tables);
    let dumped;
    try {
      const key = dir + dbName;
      const progress = throttled(o.onProgress, 'dump');
      written.push(key);
      dumped = await transferToStore({
        ...transfer,
        handle: await host.stream(dumpCommand(source.db, compression, session.snapshot, dumpSession(id)), {
          mutates: false,
        }),
        what: `the dump of ${source.db.name}`,
        filters: compression.where === 'local' ? [localFilter(zstdCompress(compression.level), o.log)] : [],
        key,
        onBytes: progress.update,
      });
      progress.done(dumped.plainBytes);
    } finally {
      await session.close();
    }
    files.unshift({
      name: dbName,
      kind: 'database',
      size: dumped.size,
      sha256: dumped.sha256,
      plainSha256: dumped.plainSha256,
    });

    const manifest: Manifest = {
      format: 1,
      id,
      service: source.service,
      env: source.env,
      host: host.target.name,
      version: source.version ?? null,
      database: { name: source.db.name, ...session.facts },
      createdAt: started.toISOString(),
      completedAt: now().toISOString(),
      size: dumped.size,
      sha256: dumped.sha256,
      plainSha256: dumped.plainSha256,
      compression: { algorithm: 'zstd', level: compression.level, where: compression.where },
      encryption,
      files,
      tools: { pgDump, coopctl: o.coopctlVersion },
      notes,
      verifications: [],
    };
    // Last: only now does the backup exist.
    await store.putText(dir + FILE_NAMES.manifest, serializeManifest(manifest));
    return manifest;
  } catch (err) {
    await endSessions(host, source.db, { app: dumpSession(id) }).catch(() => {});
    await store.delete(written).catch(() => {});
    throw err;
  }
}
