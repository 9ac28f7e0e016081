import { homedir } from 'node:os';
import path from 'node:path';
import type { ProcessRunner, RunResult } from '../../kernel/process.js';
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
    const result = await this.runner.run(this.settings.bin, args, {
      mutates: opts.mutates,
      env,
      timeoutMs: opts.timeoutMs,
      onLine: opts.onLine,
      signal: opts.signal,
      reject: false,
    });
    if (result.skipped || result.exitCode === 0) return result;
    const fatal = fatalLines(result.stderr);
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
}
