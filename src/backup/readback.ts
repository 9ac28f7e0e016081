import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InterruptedError } from '../kernel/errors.js';
import { ProgressWatch } from '../remote/progress.js';
import type { RemoteHost } from '../remote/ssh.js';
import { objectKey } from './catalog.js';
import { BackupError } from './errors.js';
import { databaseFile, type BackupFile, type Manifest } from './manifest.js';
import { throttled, type BackupPhase, type ProgressListener } from './progress.js';
import type { BackupStore } from './store/types.js';
import { Meter } from './streams.js';
import { readOnHost, type ReadBackResult } from './readOnHost.js';

/**
 * Reads a backup's database object back from the store, checking what can
 * be checked on the way: sha256 and size of the stored bytes (always),
 * decryption (age authenticates every 64 KiB chunk), sha256 of the
 * plaintext, and finally a host command fed with the plaintext (pg_restore
 * --list, or a restore). Decryption happens only on a host (readOnHost.ts): an
 * object of a store on this machine is relayed to it as stored. Failures come out
 * as one clear BackupError, the most telling first: a changed object is
 * "tampered" whatever else broke.
 */
interface ReadBackOptions {
  store: BackupStore;
  manifest: Manifest;
  /** The part to read: the database's unless given (a volume's archive or hash list). */
  file?: BackupFile;
  /** age identities; required for encrypted backups when a host command runs. */
  identities?: readonly string[];
  /** Where the plaintext goes; without it only the stored bytes are hashed. */
  into?: {
    host: RemoteHost;
    /** Fed with the decompressed dump (pg_restore). */
    tool: readonly string[];
    mutates: boolean;
    what: string;
    failure: 'corrupt-dump' | 'database-step-failed';
    /**
     * The command's progress: the bytes fed to it always count; a restore adds the server's counters (its indexes
     * are built after the last byte). Without progress for ssh.stallTimeout it is stopped.
     */
    progress?: ProgressWatch;
  };
  /**
   * S3 stores: the host that hashes the object when nothing is fed (the data path then never leaves the servers).
   * A store on this machine hashes it here.
   */
  hashOn?: RemoteHost;
  phase: BackupPhase;
  onProgress?: ProgressListener;
  /** Ctrl-C: stops reading; the host command then ends with its input. */
  signal?: AbortSignal;
}

export async function readBack(o: ReadBackOptions): Promise<ReadBackResult> {
  const m = o.manifest;
  const file = o.file ?? databaseFile(m);
  const encrypted = m.encryption.algorithm === 'age';
  if (o.into && encrypted && !o.identities?.length) {
    throw new BackupError(
      'wrong-key',
      `backup ${m.id} is encrypted and no age identity is configured (backup.encryption.identity)`,
    );
  }
  if (o.signal?.aborted) throw new InterruptedError(`interrupted before reading backup ${m.id}`);
  const s3 = o.store.hostAccess?.();
  const onHost = o.into?.host ?? (s3 && o.hashOn);
  const watch = o.into?.progress ?? new ProgressWatch();
  if (onHost) {
    const from = s3 ? { s3 } : { relay: await o.store.get(objectKey(m, file.name)) };
    return readOnHost({ ...o, from, host: onHost, file, watch });
  }
  return hashHere(o, file);
}

/** The stored bytes hashed on this machine: no key, nothing decrypted. */
async function hashHere(o: ReadBackOptions, file: BackupFile): Promise<ReadBackResult> {
  const m = o.manifest;
  const source = await o.store.get(objectKey(m, file.name));
  const progress = throttled(o.onProgress, o.phase, file.size);
  const meter = new Meter(progress.update);
  try {
    await pipeline(source, meter, new Writable({ write: (_c, _e, cb) => cb() }), { signal: o.signal });
  } catch (err) {
    if (o.signal?.aborted) throw new InterruptedError(`interrupted while reading backup ${m.id}`);
    throw err;
  }
  progress.done(meter.bytes);
  const sha256 = meter.sha256();
  if (sha256 !== file.sha256 || meter.bytes !== file.size) {
    throw new BackupError(
      'tampered',
      `backup ${m.id}: ${file.name} in ${o.store.description} does not match its manifest: ` +
        `sha256 expected ${file.sha256}, actual ${sha256}` +
        (meter.bytes !== file.size ? `; size expected ${file.size}, actual ${meter.bytes}` : '') +
        ' — the object changed after it was written',
      { details: { expected: file.sha256, actual: sha256, expectedSize: file.size, actualSize: meter.bytes } },
    );
  }
  return { file, bytes: meter.bytes, sha256 };
}
