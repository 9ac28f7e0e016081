import { PassThrough, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InterruptedError } from '../kernel/errors.js';
import type { ProgressWatch } from '../remote/progress.js';
import type { RemoteCommand } from '../remote/quote.js';
import type { RemoteHost, StreamHandle } from '../remote/ssh.js';
import { encryptingStream } from './crypto.js';
import { lastLines } from './database.js';
import { BackupError } from './errors.js';
import type { BackupStore } from './store/types.js';
import { endsWhen, Meter } from './streams.js';

interface StoredStream {
  size: number;
  sha256: string;
  plainSha256: string;
  plainBytes: number;
}

interface TransferOptions {
  host: RemoteHost;
  handle: StreamHandle;
  /** "the dump", "the secrets file": for messages. */
  what: string;
  filters?: Duplex[];
  /** age recipients; none: stored as plaintext. */
  recipients?: readonly string[];
  store: BackupStore;
  key: string;
  onBytes?: (plainBytes: number) => void;
  signal?: AbortSignal;
}

/**
 * One remote command's output, through local filters and age, into one
 * store object; sha256 and size of both the plaintext and the stored bytes.
 * The object is committed only if the remote command exited 0.
 */
export async function transferToStore(o: TransferOptions): Promise<StoredStream> {
  if (o.signal?.aborted) {
    o.handle.abort();
    throw new InterruptedError(`interrupted before ${o.what} was transferred; nothing was kept`);
  }
  const plain = new Meter(o.onBytes);
  const stored = new Meter();
  const tail = new PassThrough();
  const remoteOk = async () => {
    const d = await o.handle.done;
    if (d.code === 0) return;
    if (d.code === null) {
      throw new BackupError(
        'connection-lost',
        `connection to ${o.host.target.name} was lost during ${o.what} (after ${plain.bytes} bytes); nothing was kept`,
        {
          details: { host: o.host.target.name, signal: d.signal },
        },
      );
    }
    throw new BackupError(
      'dump-failed',
      `${o.what} failed on ${o.host.target.name} (exit ${d.code}): ` +
        `${lastLines(d.stderr) || 'no message'}; nothing was kept`,
      {
        details: { host: o.host.target.name, exitCode: d.code },
      },
    );
  };
  const onAbort = () => tail.destroy(new InterruptedError());
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const encrypt = o.recipients ? await encryptingStream(o.recipients) : new PassThrough();
    const chain = pipeline([o.handle.stdout, endsWhen(remoteOk), ...(o.filters ?? []), plain, encrypt, stored, tail]);
    const put = o.store.put(o.key, tail);
    const [c, p] = await Promise.allSettled([chain, put]);
    if (c.status === 'rejected' || p.status === 'rejected') throw rootCause(c, p, o.what);
    if (p.value.size !== stored.bytes) {
      throw new BackupError(
        'upload-failed',
        `${o.store.description} holds ${p.value.size} bytes of ${o.key}, ${stored.bytes} were sent`,
      );
    }
    return { size: stored.bytes, sha256: stored.sha256(), plainSha256: plain.sha256(), plainBytes: plain.bytes };
  } catch (err) {
    // Stop the remote command (and local filters) whatever failed: they may be blocked writing to us.
    o.handle.abort();
    for (const f of o.filters ?? []) f.destroy();
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The failure to report when the chain and the store both failed: one side's
 * error reaches the other as a premature close or as the same error, so take
 * the one that was already classified (a BackupError), the chain's first.
 */
function rootCause(chain: PromiseSettledResult<unknown>, put: PromiseSettledResult<unknown>, what: string): unknown {
  const isClose = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
  const errors = [chain, put]
    .filter((r) => r.status === 'rejected')
    .map((r) => (r as PromiseRejectedResult).reason as unknown);
  const real = errors.filter((e) => !isClose(e));
  const known = real.find((e) => e instanceof BackupError || e instanceof InterruptedError);
  if (known) return known;
  const first = real[0] ?? errors[0];
  return new BackupError(
    'dump-failed',
    `${what} failed: ${(first as Error)?.message ?? String(first)}; nothing was kept`,
    { cause: first },
  );
}

interface RemoteFeedResult {
  /** Why feeding stopped, when it was not just the remote command ending early. */
  feedError?: unknown;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Why it was stopped for making no progress, if it was. */
  stalled?: string;
}

const STDOUT_LIMIT = 4 * 1024 * 1024;

/**
 * Streams into a remote command's stdin (decrypted backup → pg_restore),
 * with backpressure. If the command ends early, feeding stops; if feeding
 * fails, the command is stopped. Never hangs on either side.
 */
export async function pipeToRemote(
  host: RemoteHost,
  cmd: RemoteCommand,
  /** The source, then any transforms it goes through. */
  streams: readonly Readable[],
  opts: { mutates: boolean; progress?: ProgressWatch },
): Promise<RemoteFeedResult> {
  const stdin = new PassThrough();
  const handle = await host.stream(cmd, { mutates: opts.mutates, stdin, progress: opts.progress });
  let stdout = '';
  handle.stdout.on('data', (b: Buffer) => {
    if (stdout.length < STDOUT_LIMIT) stdout += b.toString('utf8');
  });
  handle.stdout.on('error', () => {});
  let fed = false;
  const feeding = pipeline([...streams, stdin]).then(() => {
    fed = true;
  });
  const done = handle.done.then((d) => {
    if (!fed) stdin.destroy();
    return d;
  });
  let feedError: unknown;
  try {
    await feeding;
  } catch (err) {
    feedError = err;
    handle.abort();
  }
  const d = await done;
  const closedEarly = (feedError as NodeJS.ErrnoException | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
  return {
    feedError: closedEarly ? undefined : feedError,
    code: d.code,
    signal: d.signal,
    stdout,
    stderr: d.stderr,
    stalled: d.stalled,
  };
}
