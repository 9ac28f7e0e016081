import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InterruptedError, ToolOutputError } from '../kernel/errors.js';
import { ProgressWatch } from '../remote/progress.js';
import type { RemoteCommand } from '../remote/quote.js';
import type { RemoteHost } from '../remote/ssh.js';
import { lastLines } from './hostOutput.js';
import { BackupError } from './errors.js';
import { parseSent, type Sent } from './send.js';
import type { BackupStore } from './store/types.js';
import { endsWhen, Meter } from './streams.js';

interface RelayOptions {
  host: RemoteHost;
  /** send.sh with its data on stdout (send.ts relayCommand): reports, progress included, on stderr. */
  cmd: RemoteCommand;
  /** "sending /path": for messages. */
  what: string;
  store: BackupStore;
  key: string;
  onBytes?: (bytes: number) => void;
  signal?: AbortSignal;
}

/**
 * A host's sealed part, as it sends it, into one object of a store on this machine: the bytes pass through
 * unchanged (never decrypted here) and are hashed on arrival; the sha256 and size returned are the host's, and
 * must be those of what arrived. The object is committed only if the host's command exited 0. The command runs as
 * long as the host reports progress (ssh.stallTimeout).
 */
export async function relayToStore(o: RelayOptions): Promise<Sent> {
  if (!o.store.put) throw new Error(`internal: ${o.store.description} does not take objects from this machine`);
  if (o.signal?.aborted) throw new InterruptedError(`interrupted before ${o.what}; nothing was kept`);
  const watch = new ProgressWatch();
  const reports = new Reports((bytes) => {
    o.onBytes?.(bytes);
    watch.saw(bytes);
  });
  const handle = await o.host.stream(o.cmd, { mutates: false, progress: watch, onStderr: (b) => reports.add(b) });
  const arrived = new Meter();
  const tail = new PassThrough();
  const where = o.host.target.name;
  const hostOk = async () => {
    const d = await handle.done;
    if (d.code === 0) return;
    if (d.stalled) throw new BackupError('upload-failed', `${o.what} on ${where}: ${d.stalled}, stopped`);
    if (d.code === null) {
      throw new BackupError(
        'connection-lost',
        `connection to ${where} was lost while ${o.what} (after ${arrived.bytes} bytes); nothing was kept`,
        { details: { host: where, signal: d.signal } },
      );
    }
    throw new BackupError(
      'dump-failed',
      `${o.what} failed on ${where} (exit ${d.code}): ${lastLines(reports.messages()) || 'no message'}; ` +
        'nothing was kept',
      { details: { host: where, exitCode: d.code } },
    );
  };
  const onAbort = () => tail.destroy(new InterruptedError(`interrupted while ${o.what}; nothing was kept`));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const chain = pipeline([handle.stdout, endsWhen(hostOk), arrived, tail]);
    const put = o.store.put(o.key, tail);
    const [c, p] = await Promise.allSettled([chain, put]);
    if (c.status === 'rejected' || p.status === 'rejected') throw rootCause(c, p, o.what);
    const sent = parseSent(reports.text());
    if (!sent) {
      throw new ToolOutputError(
        `${where}: ${o.what} ended without its report: ${JSON.stringify(reports.text().slice(-200))}`,
      );
    }
    if (sent.sha256 !== arrived.sha256() || sent.size !== arrived.bytes || p.value.size !== arrived.bytes) {
      throw new BackupError(
        'upload-failed',
        `${o.store.description} received other bytes of ${o.key} than ${where} sent: ` +
          `sha256 sent ${sent.sha256} (${sent.size} bytes), arrived ${arrived.sha256()} (${arrived.bytes} bytes), ` +
          `stored ${p.value.size} bytes`,
      );
    }
    return sent;
  } catch (err) {
    // Stop the host's command whatever failed: it may be blocked writing to us.
    handle.abort();
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** The lines a relaying command prints on stderr: `progress N` as they come, the rest kept (the newest 200). */
class Reports {
  private pending = '';
  private readonly lines: string[] = [];

  constructor(private readonly onProgress: (bytes: number) => void) {}

  add(chunk: Buffer): void {
    const lines = (this.pending + chunk.toString('utf8')).split('\n');
    this.pending = lines.pop()!;
    for (const line of lines) {
      const m = /^progress (\d+)$/.exec(line);
      if (m) this.onProgress(Number(m[1]));
      else if (line.trim()) this.lines.push(line);
    }
    this.lines.splice(0, Math.max(0, this.lines.length - 200));
  }

  text(): string {
    return [...this.lines, this.pending].join('\n');
  }

  /** What the tools said, without the reports. */
  messages(): string {
    return this.text()
      .split('\n')
      .filter((l) => !/^(stored-sha256|stored-bytes|plain-sha256) /.test(l))
      .join('\n');
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
