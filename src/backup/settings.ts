import { ConfigError } from '../kernel/errors.js';
import { assertName } from '../kernel/validate.js';
import type { RemoteHost } from '../remote/ssh.js';
import { assertDbTarget, assertLevel, DEFAULT_COMPRESSION_LEVEL, type DbTarget } from './commands.js';
import { assertRecipients } from './crypto.js';
import type { HistoryHost } from './inUse.js';
import type { EncryptionInfo } from './manifest.js';
import type { ProgressListener } from './progress.js';
import type { BackupStore } from './store/types.js';
import type { BackupVolume } from './volumes.js';

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
  /** Data volumes backed up with the database, each a part of the backup (an archive and its hash list). */
  volumes?: readonly BackupVolume[];
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
  /** zstd's level on the host (DEFAULT_COMPRESSION_LEVEL unless given). */
  compression?: { level?: number };
  coopctlVersion: string;
  /**
   * The on-host copy: `dir` on the host, the newest `keep` copies kept; `history`: where the service×env's lock and
   * history are, which tell the copies a change uses.
   */
  onHost: { dir: string; keep: number; history: HistoryHost };
  onProgress?: ProgressListener;
  log?: (line: string) => void;
  signal?: AbortSignal;
  now?: () => Date;
}

/** The options checked (names, level, recipients): what a backup encrypts to (none: plaintext), how it compresses. */
export function backupSettings(o: CreateBackupOptions): {
  level: number;
  recipients: readonly string[];
  encryption: EncryptionInfo;
} {
  assertName(o.source.service, 'service');
  assertName(o.source.env, 'environment');
  assertDbTarget(o.source.db);
  const level = assertLevel(o.compression?.level ?? DEFAULT_COMPRESSION_LEVEL);
  const recipients = o.encryption?.recipients ?? [];
  if (recipients.length > 0) assertRecipients(recipients);
  else if (!o.allowPlaintext) {
    throw new ConfigError('backup.encryption is not configured: refusing to write an unencrypted backup', {
      hints: [
        'add backup.encryption.recipients (age public keys) and backup.encryption.identity to coopctl.yaml, ' +
          'or allow a plaintext backup explicitly',
      ],
    });
  }
  const encryption: EncryptionInfo = recipients.length
    ? { algorithm: 'age', recipients: [...recipients], identityRef: o.encryption?.identityRef ?? null }
    : { algorithm: 'none' };
  return { level, recipients, encryption };
}
