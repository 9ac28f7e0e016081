import { homedir } from 'node:os';
import path from 'node:path';
import type { ProcessRunner, RunResult } from '../../kernel/process.js';
import { quoteArgv } from '../../remote/quote.js';
import { AbraError } from './errors.js';

/** How coopctl reaches abra: `abra.bin` and `abra.dir` from coopctl.yaml. */
export interface AbraSettings {
  bin: string;
  /** ABRA_DIR for the child; unset = abra's own default (inherited $ABRA_DIR, else ~/.abra). */
  dir?: string;
}

interface AbraRunOptions {
  mutates: boolean;
  timeoutMs?: number;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
  /** Run under a pseudo-terminal (abra's backup commands exec into backup-bot-two with one); `input` is typed in it. */
  terminal?: boolean;
  input?: string;
  cwd?: string;
}

// source: util-linux script(1) (-q quiet, -e the child's exit status, -c COMMAND run by $SHELL -c, FILE the
// typescript): the way a CI that drives abra gives its backup commands a terminal (reference/production.md, P)
/** `script` running `argv` on a pseudo-terminal: one shell line, built only from quoted words. */
export function onTerminal(argv: readonly string[]): { file: string; args: string[] } {
  return { file: 'script', args: ['-qec', quoteArgv(argv), '/dev/null'] };
}

/**
 * A terminal's output as lines: CR LF (the terminal's newline) and lone CRs become LF, and a FATA message that
 * followed an unanswered question (no newline: nothing was typed) starts a line of its own.
 */
function terminalText(text: string): string {
  return text
    .replace(/\r+\n/g, '\n')
    .replace(/\r/g, '\n')
    .replace(/([^\n])(?=\bFATA\b)/g, '$1\n');
}

const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** The `FATA ...` lines of abra's stderr (charmbracelet/log style, or logrus `level=fatal msg=...`). */
export function fatalLines(stderr: string): string[] {
  const out: string[] = [];
  for (const raw of stripAnsi(stderr).split('\n')) {
    const line = raw.trim();
    // an optional timestamp (words with digits) may precede the level
    const charm = /^(?:\S*\d\S*\s+){0,3}FATA(?:L)?\b[:\s]*(.*)$/.exec(line);
    if (charm) {
      out.push(charm[1].trim());
      continue;
    }
    const logrus = /level=fatal\s+msg="((?:[^"\\]|\\.)*)"/.exec(line);
    if (logrus) out.push(logrus[1].replace(/\\(.)/g, '$1'));
  }
  return out;
}

/** Runs the abra binary with argument arrays; a non-zero exit becomes an AbraError carrying the FATA text. */
export class AbraCli {
  constructor(
    private readonly runner: ProcessRunner,
    private readonly settings: AbraSettings,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Where abra keeps servers/ and recipes/ for this coopctl run. */
  get abraDir(): string {
    return this.settings.dir ?? (this.env.ABRA_DIR || path.join(homedir(), '.abra'));
  }

  async run(args: readonly string[], opts: AbraRunOptions): Promise<RunResult> {
    const env: Record<string, string> = { NO_COLOR: '1' };
    if (this.settings.dir) env.ABRA_DIR = this.settings.dir;
    // script runs the line with $SHELL -c: the quoting is POSIX sh's
    if (opts.terminal) env.SHELL = '/bin/sh';
    const { file, args: argv } = opts.terminal
      ? onTerminal([this.settings.bin, ...args])
      : { file: this.settings.bin, args: [...args] };
    const onLine = opts.onLine && opts.terminal ? this.terminalLines(opts.onLine) : opts.onLine;
    const raw = await this.runner.run(file, argv, {
      mutates: opts.mutates,
      env,
      cwd: opts.cwd,
      // on a terminal, what is not typed must end: a question nobody answers would wait for ever
      input: opts.terminal ? (opts.input ?? '') : opts.input,
      timeoutMs: opts.timeoutMs,
      onLine,
      signal: opts.signal,
      reject: false,
    });
    // on a terminal, abra's stderr comes out on the one stream the terminal has
    const result = opts.terminal ? { ...raw, stdout: terminalText(raw.stdout) } : raw;
    if (result.skipped || result.exitCode === 0) return result;
    const fatal = fatalLines(opts.terminal ? result.stdout : result.stderr);
    const tail = stripAnsi(result.stderr || result.stdout)
      .trim()
      .split('\n')
      .slice(-3)
      .join(' / ');
    const command = args.filter((a) => !a.startsWith('-')).join(' ');
    throw new AbraError(
      command,
      fatal.length ? fatal.join('; ') : tail || `exited with ${result.exitCode}`,
      result.exitCode,
      {
        stdout: result.stdout,
        stderr: result.stderr,
      },
    );
  }

  private terminalLines(onLine: NonNullable<AbraRunOptions['onLine']>): AbraRunOptions['onLine'] {
    return (line, stream) => {
      for (const l of terminalText(line).split('\n')) if (l.trim()) onLine(l, stream);
    };
  }
}
