import type { Readable, Writable } from 'node:stream';
import { styleText } from 'node:util';
import { redact } from './redact.js';
import { printable } from './validate.js';

/** The streams a command talks to; injected so tests can capture them. */
export interface IO {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export function systemIO(): IO {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Prompts only when a person is there: both ends are terminals and CI is unset. */
export function canPrompt(io: IO): boolean {
  return Boolean(io.stdin.isTTY && io.stdout.isTTY) && !io.env.CI;
}

function colorEnabled(io: IO, stream: Writable & { isTTY?: boolean } = io.stderr): boolean {
  if (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  if (io.env.TERM === 'dumb') return false;
  if (io.env.FORCE_COLOR && io.env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

type Style = Parameters<typeof styleText>[0];

/** Text output: data to stdout, everything else to stderr, always redacted. */
export class Printer {
  readonly color: boolean;
  constructor(
    readonly io: IO,
    readonly opts: { verbose?: boolean; quiet?: boolean } = {},
  ) {
    this.color = colorEnabled(io, io.stdout);
  }

  style(s: Style, text: string): string {
    return this.color ? styleText(s, text, { validateStream: false }) : text;
  }

  /** Data (the command's result). */
  out(text = ''): void {
    this.io.stdout.write(`${redact(text)}\n`);
  }

  /** Human notes, progress and warnings. */
  info(text = ''): void {
    if (this.opts.quiet) return;
    this.io.stderr.write(`${redact(text)}\n`);
  }

  warn(text: string): void {
    this.io.stderr.write(`${redact(`${this.style('yellow', 'warning:')} ${printable(text, { lines: true })}`)}\n`);
  }

  debug(text: string): void {
    if (this.opts.verbose) this.io.stderr.write(`${redact(this.style('dim', printable(text, { lines: true })))}\n`);
  }

  json(doc: unknown): void {
    this.io.stdout.write(`${redact(JSON.stringify(doc, null, 2))}\n`);
  }
}
