import { execa, type ResultPromise } from 'execa';
import { InputError } from './errors.js';
import { redact } from './redact.js';

/**
 * The one choke point for local child processes. Every call says whether it
 * changes anything (`mutates`); under --dry-run those are printed and
 * skipped, read-only ones still run (so a dry run sees real state).
 */
export interface RunOptions {
  mutates: boolean;
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  /** Called with each line of stdout and stderr as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Accept non-zero exit codes instead of throwing. */
  reject?: boolean;
  signal?: AbortSignal;
  /**
   * Runs in a process group of its own, so a terminal's Ctrl-C reaches coopctl only and coopctl decides: the
   * signal above then interrupts the whole group (SIGINT, then SIGTERM, then SIGKILL) and the run waits for it to end.
   */
  ownProcessGroup?: boolean;
  /** Print `env` with the command (-v, --dry-run): settings the command gets that way are part of what runs. */
  showEnv?: boolean;
}

/** How long an interrupted process group gets before the next, harder signal. */
const GROUP_GRACE_MS = { term: 10_000, kill: 30_000 };

/**
 * Interrupts a process group when `signal` aborts (SIGINT, then SIGTERM and SIGKILL if it lingers), and ends
 * what the interrupted group's leader leaves behind when it exits (a worker still holding its output open).
 * Returns the function that stops watching once the run has ended.
 */
function watchGroup(child: ResultPromise, signal: AbortSignal | undefined): () => void {
  const pid = child.pid;
  if (!pid) return () => {};
  const timers: NodeJS.Timeout[] = [];
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is gone already
    }
  };
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    send('SIGINT');
    timers.push(setTimeout(() => send('SIGTERM'), GROUP_GRACE_MS.term).unref());
    timers.push(setTimeout(() => send('SIGKILL'), GROUP_GRACE_MS.kill).unref());
  };
  // After an interrupt only: a normal run leaves nothing behind, and an SSH control master may serve other runs.
  const onExit = () => aborted && send('SIGTERM');
  child.once('exit', onExit);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return () => {
    signal?.removeEventListener('abort', onAbort);
    child.off('exit', onExit);
    for (const t of timers) clearTimeout(t);
  };
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  skipped: boolean;
}

export interface ProcessRunner {
  readonly dryRun: boolean;
  run(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult>;
}

export class CommandFailedError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n');
    super(redact(`${command} exited with ${result.exitCode}${tail ? `:\n${tail}` : ''}`));
  }
}

/** The command as a shell line, `NAME=value` settings of its environment first. */
function describeCommand(file: string, args: readonly string[], env: readonly string[] = []): string {
  const words = [...env, file, ...args];
  return redact(words.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' '));
}

export class ExecaRunner implements ProcessRunner {
  constructor(
    readonly dryRun: boolean,
    private readonly log: (line: string) => void = () => {},
  ) {}

  async run(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
    const settings = opts.showEnv ? Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v ?? ''}`) : [];
    const shown = describeCommand(file, args, settings);
    if (opts.mutates && this.dryRun) {
      this.log(`! skipped (dry run): ${shown}`);
      return { stdout: '', stderr: '', exitCode: 0, skipped: true };
    }
    this.log(`$ ${shown}`);
    let child: ResultPromise;
    try {
      child = execa(file, args, {
        cwd: opts.cwd,
        env: opts.env,
        input: opts.input,
        timeout: opts.timeoutMs,
        reject: false,
        stripFinalNewline: false,
        cancelSignal: opts.ownProcessGroup ? undefined : opts.signal,
        detached: opts.ownProcessGroup,
        lines: false,
        all: false,
      });
    } catch (err) {
      throw new InputError(`cannot run ${file}: ${(err as Error).message}`, { code: 'missing-tool' });
    }
    if (opts.onLine) {
      for (const [name, stream] of [
        ['stdout', child.stdout],
        ['stderr', child.stderr],
      ] as const) {
        let buf = '';
        stream?.on('data', (chunk: Buffer) => {
          buf += chunk.toString('utf8');
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            opts.onLine!(buf.slice(0, i), name);
            buf = buf.slice(i + 1);
          }
        });
        stream?.on('end', () => {
          if (buf) opts.onLine!(buf, name);
        });
      }
    }
    const unwatch = opts.ownProcessGroup ? watchGroup(child, opts.signal) : () => {};
    const r = await child.finally(unwatch);
    if (r.failed && r.exitCode === undefined) {
      const reason = r.timedOut
        ? `timed out after ${opts.timeoutMs} ms`
        : r.isCanceled
          ? 'cancelled'
          : ((r.cause as Error | undefined)?.message ?? r.shortMessage);
      if ((r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
        throw new InputError(`${file} is not installed or not on PATH`, { code: 'missing-tool' });
      }
      const result = {
        stdout: String(r.stdout ?? ''),
        stderr: `${String(r.stderr ?? '')}\n${reason}`,
        exitCode: -1,
        skipped: false,
      };
      if (opts.reject === false) return result;
      throw new CommandFailedError(shown, result);
    }
    const result: RunResult = {
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      exitCode: r.exitCode ?? -1,
      skipped: false,
    };
    if (result.exitCode !== 0 && opts.reject !== false) throw new CommandFailedError(shown, result);
    return result;
  }
}

/** Whether a process of this machine lives (EPERM: it does, as another user's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
