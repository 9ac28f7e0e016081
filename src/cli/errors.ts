import { CommanderError } from 'commander';
import { CoopctlError, ExitCode, type ExitCodeValue } from '../kernel/errors.js';
import { redact } from '../kernel/redact.js';
import { printable } from '../kernel/validate.js';
import type { IO } from '../kernel/io.js';

/** The one place errors become exit codes and messages. */
export function reportError(err: unknown, io: IO, json: boolean): ExitCodeValue {
  let code = 'internal';
  let exitCode: ExitCodeValue = ExitCode.failed;
  let message = err instanceof Error ? err.message : String(err);
  let hints: string[] = [];
  let details: Record<string, unknown> | undefined;
  if (err instanceof CoopctlError) {
    ({ code, exitCode, hints, details } = err);
  } else if (err instanceof CommanderError) {
    code = 'usage';
    exitCode = ExitCode.badInput;
    message = err.message.replace(/^error: /, '');
  } else if (io.env.COOPCTL_DEBUG && err instanceof Error) {
    message = err.stack ?? message;
  }
  if (json) {
    io.stdout.write(
      `${redact(
        JSON.stringify(
          { error: { code, message, ...(hints.length ? { hints } : {}), ...(details ? { details } : {}) } },
          null,
          2,
        ),
      )}\n`,
    );
  } else {
    const lines = [`coopctl: ${message}`, ...hints.map((h) => `  hint: ${h}`)];
    if (err instanceof CommanderError) lines.push('  (see coopctl --help)');
    io.stderr.write(`${printable(redact(lines.join('\n')), { lines: true })}\n`);
  }
  return exitCode;
}
