import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InterruptedError, OperationError } from '../kernel/errors.js';
import type { ProgressWatch } from '../remote/progress.js';
import type { RemoteHost } from '../remote/ssh.js';
import { objectKey } from './catalog.js';
import { decryptionError } from './crypto.js';
import { BackupError } from './errors.js';
import { lastLines } from './hostOutput.js';
import type { HostS3 } from './hostS3.js';
import { hostReadCommand, parseHostRead, progressBytes, type ReadMode } from './hostRead.js';
import type { BackupFile, Manifest } from './manifest.js';
import { throttled, type BackupPhase, type ProgressListener } from './progress.js';
import type { BackupStore } from './store/types.js';
import { Meter } from './streams.js';

/** What reading a stored file back found: its size and hashes (and the plaintext's, decrypted). */
export interface ReadBackResult {
  file: BackupFile;
  bytes: number;
  sha256: string;
  plainSha256?: string;
  /** The host command's stdout (pg_restore --list prints the table of contents). */
  stdout?: string;
}

/**
 * readBack on a host, the one read path: the host reads the object (from the S3 store itself, or as coopctl relays
 * it from a store on this machine: ciphertext, never decrypted here), hashes it, and decrypts, decompresses and
 * feeds it to `into.tool` there. Besides a relayed object, only progress, pg_restore's own output and the result
 * line cross the operator's link. The verdicts are readBack's, in the same order.
 */
interface ReadOnHostOptions {
  /** The S3 store as the host reaches it, or the object read here from `store`, for the host. */
  from: { s3: HostS3 } | { relay: Readable };
  store: BackupStore;
  host: RemoteHost;
  manifest: Manifest;
  file: BackupFile;
  identities?: readonly string[];
  into?: { tool: readonly string[]; mutates: boolean; what: string; failure: 'corrupt-dump' | 'database-step-failed' };
  phase: BackupPhase;
  onProgress?: ProgressListener;
  /** Ctrl-C: the channel is closed, and the host's watchdog stops what still runs there. */
  signal?: AbortSignal;
  /** Fed with the bytes read; without progress for ssh.stallTimeout the read is stopped (as by Ctrl-C). */
  watch?: ProgressWatch;
}

/**
 * "No such object": rclone's exit code for a file not found, which the host script also gives when --stat finds
 * none. A missing bucket (3, directory not found) is the store's problem, not the backup's.
 */
const RCLONE_NOT_FOUND = 4;

/** What the host printed on stderr, without progress lines and the watchdog's blank ones. */
function messages(lines: readonly string[]): string[] {
  return lines.filter((l) => l.trim() && !/^bytes \d+$/.test(l));
}

/** The relayed object after the host's stdin header: what was sent, hashed here; why sending stopped, if it did. */
function relay(header: string, object: Readable): { stdin: PassThrough; sent: Meter; fed: Promise<unknown> } {
  const stdin = new PassThrough();
  stdin.write(header);
  const sent = new Meter();
  const fed = pipeline(object, sent, stdin).then(
    () => undefined,
    (err: unknown) => err,
  );
  return { stdin, sent, fed };
}

/** A failure to send the object that is not the host's channel closing (which the host's exit then explains). */
function sendFailure(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return err !== undefined && code !== 'ERR_STREAM_PREMATURE_CLOSE' && code !== 'EPIPE';
}

export async function readOnHost(o: ReadOnHostOptions): Promise<ReadBackResult> {
  const { host, manifest: m, file } = o;
  const where = host.target.name;
  const key = objectKey(m, file.name);
  const encrypted = m.encryption.algorithm === 'age';
  const mode: ReadMode = o.into
    ? { kind: 'feed', decrypt: encrypted ? 'age' : 'none', into: o.into.tool }
    : { kind: 'hash' };
  const cmd = hostReadCommand('s3' in o.from ? o.from : 'relay', key, mode, encrypted ? o.identities : []);
  const relayed = 'relay' in o.from ? relay(cmd.stdin, o.from.relay) : undefined;
  const progress = throttled(o.onProgress, o.phase, file.size);
  // The stream keeps only the first 64 KiB of stderr, which progress lines fill in an hour; the tools' own
  // messages (the last ones tell why it failed) are kept here, the newest 200 lines.
  let pending = '';
  const said: string[] = [];
  const handle = await host.stream(cmd.cmd, {
    mutates: o.into?.mutates ?? false,
    stdin: relayed?.stdin ?? cmd.stdin,
    progress: o.watch,
    onStderr: (b) => {
      const lines = (pending + b.toString('utf8')).split('\n');
      pending = lines.pop()!;
      const counts = progressBytes(lines.join('\n'));
      if (counts.length > 0) {
        progress.update(counts[counts.length - 1]!);
        o.watch?.saw(counts[counts.length - 1]!);
      }
      said.push(...messages(lines));
      said.splice(0, Math.max(0, said.length - 200));
    },
  });
  const out: Buffer[] = [];
  handle.stdout.on('data', (b: Buffer) => out.push(b));
  const abort = () => handle.abort();
  o.signal?.addEventListener('abort', abort, { once: true });
  const done = await handle.done.finally(() => o.signal?.removeEventListener('abort', abort));
  if (relayed && !relayed.stdin.writableFinished) relayed.stdin.destroy();
  const unsent = await relayed?.fed;
  if (o.signal?.aborted) throw new InterruptedError(`interrupted while ${where} read backup ${m.id}`);
  if (sendFailure(unsent)) {
    if (unsent instanceof BackupError) throw unsent;
    throw new BackupError('store-unreachable', `cannot read ${key} from ${o.store.description}: ${String(unsent)}`, {
      cause: unsent,
    });
  }
  const stderr = [...said, ...messages([pending])].join('\n');
  if (done.stalled) {
    const what = o.into?.what ?? `the read of backup ${m.id}`;
    throw new BackupError(o.into?.failure ?? 'store-unreachable', `${what} on ${where}: ${done.stalled}, stopped`);
  }
  if (done.code === null)
    throw new BackupError('connection-lost', `connection to ${where} was lost while it read backup ${m.id}`);
  const r = parseHostRead(Buffer.concat(out).toString('utf8'), where);
  if (!r) {
    // It stopped before reading (sudo's refusal is in the stream's own stderr, which is short then).
    const early = lastLines(messages(done.stderr.split('\n')).join('\n')) || 'no message';
    if (done.code === 127) {
      throw new OperationError(`${where} cannot read backup ${m.id} from the store: ${early}`, {
        code: 'host-tools-missing',
        hints: ['install them on the host: apt-get install rclone age zstd (the playbook does)'],
      });
    }
    throw new BackupError('store-unreachable', `${where} could not read backup ${m.id} (exit ${done.code}): ${early}`);
  }
  if (relayed) checkRelayed(o, relayed.sent, r, unsent === undefined);
  else if (r.fetch !== 0) {
    const missing = r.fetch === RCLONE_NOT_FOUND;
    throw new BackupError(
      missing ? 'missing-object' : 'store-unreachable',
      missing
        ? `${key} is missing from the store (read on ${where})`
        : `${where} cannot read ${key} from the store: ${lastLines(stderr) || `rclone exit ${r.fetch}`}`,
    );
  }
  progress.done(r.size);
  if (r.sha256 !== file.sha256 || r.size !== file.size) throw tampered(m, file, `${key} in the store`, where, r);
  const result: ReadBackResult = { file, bytes: r.size, sha256: r.sha256 };
  if (!o.into) return result;
  if (r.exit !== 0) {
    const age = /^age: (?:error: )?(.*)$/m.exec(stderr);
    if (age) throw decryptionError(new Error(age[1]));
    throw new BackupError(
      o.into.failure,
      `${o.into.what} failed on ${where} (exit ${r.exit}): ${lastLines(stderr) || 'no message'}`,
      { details: { exitCode: r.exit, stderr: lastLines(stderr, 10) } },
    );
  }
  if (r.plainSha256 !== file.plainSha256) {
    throw new BackupError(
      'tampered',
      `backup ${m.id}: decrypted ${file.name} does not match its manifest: ` +
        `sha256 expected ${file.plainSha256}, actual ${r.plainSha256}`,
      { details: { expected: file.plainSha256, actual: r.plainSha256 } },
    );
  }
  return { ...result, plainSha256: r.plainSha256, stdout: r.output };
}

/** The stored bytes differ from those the manifest describes. */
function tampered(m: Manifest, file: BackupFile, what: string, readOn: string, r: { sha256: string; size: number }) {
  return new BackupError(
    'tampered',
    `backup ${m.id}: ${what} does not match its manifest (read on ${readOn}): ` +
      `sha256 expected ${file.sha256}, actual ${r.sha256}` +
      (r.size !== file.size ? `; size expected ${file.size}, actual ${r.size}` : '') +
      ' — the object changed after it was written',
    { details: { expected: file.sha256, actual: r.sha256, expectedSize: file.size, actualSize: r.size } },
  );
}

/**
 * A relayed object: what this machine read from its store decides whether the object changed (when all of it was
 * sent); what the host hashed must then be those very bytes, or the relay lost some.
 */
function checkRelayed(
  o: ReadOnHostOptions,
  sent: Meter,
  r: { fetch: number; sha256: string; size: number },
  complete: boolean,
): void {
  const where = o.host.target.name;
  const key = objectKey(o.manifest, o.file.name);
  const here = { sha256: complete ? sent.sha256() : '', size: sent.bytes };
  if (complete && (here.sha256 !== o.file.sha256 || here.size !== o.file.size))
    throw tampered(o.manifest, o.file, `${key} in ${o.store.description}`, 'this machine', here);
  if (r.fetch !== 0 || !complete || r.sha256 !== here.sha256 || r.size !== here.size) {
    throw new BackupError(
      'connection-lost',
      `${where} did not receive ${key} as it was sent from ${o.store.description}: ` +
        `${here.size} bytes sent, ${r.size} received (sha256 ${r.sha256 || 'none'})`,
    );
  }
}
