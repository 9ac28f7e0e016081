import { ToolOutputError } from '../kernel/errors.js';
import { ProgressWatch } from '../remote/progress.js';
import { toShell, type RemoteCommand, type ShellLine } from '../remote/quote.js';
import type { RemoteHost } from '../remote/ssh.js';
import { lastLines } from './hostOutput.js';
import { BackupError } from './errors.js';
import { hostProgram, hostScript } from './hostProgram.js';

interface ScriptResult {
  code: number | null;
  /** stdout without the progress lines. */
  stdout: string;
  stderr: string;
  /** Why it was stopped for making no progress, if it was. */
  stalled?: string;
}

/**
 * Runs a host script that reports `progress N` lines on stdout while it works (the bytes it has written or read)
 * and its results in other lines; progress goes to onBytes as it arrives, the rest is returned. It runs as long as
 * it makes progress: a count that moves, or a new result line (a check done); ssh.stallTimeout without either
 * stops it (its script then stops what it started: its progress lines go nowhere).
 */
export async function runReporting(
  host: RemoteHost,
  cmd: RemoteCommand,
  o: { stdin?: string; onBytes?: (bytes: number) => void; signal?: AbortSignal },
): Promise<ScriptResult> {
  const watch = new ProgressWatch();
  let results = 0;
  const h = await host.stream(cmd, { mutates: true, stdin: o.stdin ?? '', progress: watch });
  const onAbort = () => h.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let pending = '';
  let stdout = '';
  h.stdout.on('data', (b: Buffer) => {
    pending += b.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const m = /^progress (\d+)$/.exec(line);
      if (m) o.onBytes?.(Number(m[1]));
      else if (stdout.length < 64 * 1024) stdout += `${line}\n`;
      if (!m) results++;
      watch.saw(`${m?.[1] ?? ''} ${results}`);
    }
  });
  h.stdout.on('error', () => {});
  try {
    const d = await h.done;
    return { code: d.code, stdout: stdout + pending, stderr: d.stderr, stalled: d.stalled };
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** A result line the script must print; its absence is a tool answering nonsense (exit 2). */
export function required<T>(value: T | undefined, host: RemoteHost, what: string, r: ScriptResult): T {
  if (value !== undefined) return value;
  throw new ToolOutputError(
    `${host.target.name}: ${what} ended without its result line: ${JSON.stringify(r.stdout.slice(0, 200))}`,
  );
}

/** The failure of a host script, as a BackupError: a lost connection apart from a command's own failure. */
export function scriptFailure(
  host: RemoteHost,
  what: string,
  r: ScriptResult,
  code: 'dump-failed' | 'upload-failed' | 'corrupt-dump' | 'database-step-failed',
): BackupError {
  if (r.stalled)
    return new BackupError(code, `${what} on ${host.target.name}: ${r.stalled}, stopped`, {
      details: { host: host.target.name, stalled: true },
    });
  if (r.code === null)
    return new BackupError('connection-lost', `connection to ${host.target.name} was lost during ${what}`);
  return new BackupError(
    code,
    `${what} failed on ${host.target.name} (exit ${r.code}): ${lastLines(r.stderr) || 'no message'}`,
    { details: { host: host.target.name, exitCode: r.code } },
  );
}

/** `cmd` on the host, stopped there when its SSH channel closes (host/watchdog.sh). */
export function stopsWithChannel(cmd: RemoteCommand): ShellLine {
  return hostScript(hostProgram('watchdog', 'stops-with-channel'), [toShell(cmd)]);
}
