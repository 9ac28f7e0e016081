import type { Readable } from 'node:stream';
import { InterruptedError } from '../kernel/errors.js';
import { ProgressWatch } from '../remote/progress.js';
import type { RemoteHost } from '../remote/ssh.js';
import { objectKey } from './catalog.js';
import { decompressedInto } from './commands.js';
import { decryptingStream, decryptionError } from './crypto.js';
import { lastLines } from './database.js';
import { BackupError } from './errors.js';
import { databaseFile, type BackupFile, type Manifest } from './manifest.js';
import { throttled, type BackupPhase, type ProgressListener } from './progress.js';
import type { BackupStore } from './store/types.js';
import { hashedCopy, Meter } from './streams.js';
import { pipeToRemote } from './transfer.js';
import { readOnHost } from './readOnHost.js';

/**
 * Reads a backup's database object back from the store, checking what can
 * be checked on the way: sha256 and size of the stored bytes (always),
 * decryption (age authenticates every 64 KiB chunk), sha256 of the
 * plaintext, and finally a host command fed with the plaintext (pg_restore
 * --list, or a restore). Failures come out as one clear BackupError, the
 * most telling first: a changed object is "tampered" whatever else broke.
 */
interface ReadBackOptions {
  store: BackupStore;
  manifest: Manifest;
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
  /** S3 stores: the host that hashes the object when nothing is fed (the data path then never leaves the servers). */
  hashOn?: RemoteHost;
  phase: BackupPhase;
  onProgress?: ProgressListener;
  /** Ctrl-C: stops reading; the host command then ends with its input. */
  signal?: AbortSignal;
}

export interface ReadBackResult {
  file: BackupFile;
  bytes: number;
  sha256: string;
  plainSha256?: string;
  /** The host command's stdout (pg_restore --list prints the table of contents). */
  stdout?: string;
}

export async function readBack(o: ReadBackOptions): Promise<ReadBackResult> {
  const m = o.manifest;
  const file = databaseFile(m);
  const encrypted = m.encryption.algorithm === 'age';
  if (o.into && encrypted && !o.identities?.length) {
    throw new BackupError(
      'wrong-key',
      `backup ${m.id} is encrypted and no age identity is configured (backup.encryption.identity)`,
    );
  }
  if (o.signal?.aborted) throw new InterruptedError(`interrupted before reading backup ${m.id}`);
  const onHost = o.into?.host ?? o.hashOn;
  const s3 = o.store.hostAccess?.();
  const watch = o.into?.progress ?? new ProgressWatch();
  if (s3 && onHost) return readOnHost({ ...o, s3, host: onHost, file, watch });
  const source = await o.store.get(objectKey(m, file.name));
  const onAbort = () => source.destroy(new InterruptedError(`interrupted while reading backup ${m.id}`));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const progress = throttled(o.onProgress, o.phase, file.size);
  const plainMeter = new Meter();
  let copy;
  try {
    copy = await hashedCopy(
      source,
      async (feed: Readable) => {
        const into = o.into;
        if (!into) return undefined;
        const plain = encrypted ? await decryptingStream(feed, o.identities!) : feed;
        const r = await pipeToRemote(into.host, decompressedInto(into.tool), [plain, plainMeter], {
          mutates: into.mutates,
          progress: watch,
        });
        if (r.stalled)
          throw new BackupError(into.failure, `${into.what} on ${into.host.target.name}: ${r.stalled}, stopped`);
        if (r.feedError !== undefined)
          throw r.feedError instanceof BackupError ? r.feedError : decryptionError(r.feedError);
        if (r.code === null) {
          throw new BackupError(
            'connection-lost',
            `connection to ${into.host.target.name} was lost during ${into.what}`,
          );
        }
        if (r.code !== 0) {
          throw new BackupError(
            into.failure,
            `${into.what} failed on ${into.host.target.name} (exit ${r.code}): ${lastLines(r.stderr) || 'no message'}`,
            {
              details: { exitCode: r.code, stderr: lastLines(r.stderr, 10) },
            },
          );
        }
        return r.stdout;
      },
      (bytes) => {
        progress.update(bytes);
        watch.saw(bytes);
      },
    );
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  progress.done(copy.bytes);
  if (copy.sha256 !== file.sha256 || copy.bytes !== file.size) {
    throw new BackupError(
      'tampered',
      `backup ${m.id}: ${file.name} in ${o.store.description} does not match its manifest: ` +
        `sha256 expected ${file.sha256}, actual ${copy.sha256}` +
        (copy.bytes !== file.size ? `; size expected ${file.size}, actual ${copy.bytes}` : '') +
        ' — the object changed after it was written',
      { details: { expected: file.sha256, actual: copy.sha256, expectedSize: file.size, actualSize: copy.bytes } },
    );
  }
  if (!copy.outcome.ok) throw copy.outcome.error;
  const result: ReadBackResult = { file, bytes: copy.bytes, sha256: copy.sha256 };
  if (o.into) {
    result.plainSha256 = plainMeter.sha256();
    result.stdout = copy.outcome.value;
    if (result.plainSha256 !== file.plainSha256) {
      throw new BackupError(
        'tampered',
        `backup ${m.id}: decrypted ${file.name} does not match its manifest: ` +
          `sha256 expected ${file.plainSha256}, actual ${result.plainSha256}`,
        {
          details: { expected: file.plainSha256, actual: result.plainSha256 },
        },
      );
    }
  }
  return result;
}
