/**
 * Typed errors. Every failure a user can meet is one of these; the single
 * top-level handler in cli/run.ts maps them to exit codes and messages.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  badInput: 2,
  refused: 3,
  lockHeld: 4,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class CoopctlError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  /** Extra lines printed under the message (a fix hint, the holder of a lock, ...). */
  readonly hints: string[];
  /** Structured details added to the --json error document. */
  readonly details?: Record<string, unknown>;

  constructor(
    message: string,
    opts: {
      code: string;
      exitCode: ExitCodeValue;
      hints?: string[];
      details?: Record<string, unknown>;
      cause?: unknown;
    },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.exitCode = opts.exitCode;
    this.hints = opts.hints ?? [];
    this.details = opts.details;
  }
}

type Extra = { hints?: string[]; details?: Record<string, unknown>; cause?: unknown };

/** Bad flags, arguments or versions: nothing ran remotely. Exit 2. */
export class InputError extends CoopctlError {
  constructor(message: string, extra: Extra & { code?: string } = {}) {
    super(message, { code: extra.code ?? 'bad-input', exitCode: ExitCode.badInput, ...extra });
  }
}

/** Invalid configuration, inventory or secret reference. Exit 2. */
export class ConfigError extends InputError {
  constructor(message: string, extra: Extra = {}) {
    super(message, { code: 'config', ...extra });
  }
}

/** A host presented an unknown or changed SSH host key. Exit 2: fix known_hosts first. */
export class HostKeyError extends InputError {
  constructor(message: string, extra: Extra = {}) {
    super(message, { code: 'host-key', ...extra });
  }
}

/** Output of an external tool that coopctl cannot trust or parse. Exit 2. */
export class ToolOutputError extends InputError {
  constructor(message: string, extra: Extra = {}) {
    super(message, { code: 'tool-output', ...extra });
  }
}

/** Preflight or verification refused the operation. Exit 3. */
export class RefusedError extends CoopctlError {
  constructor(message: string, extra: Extra = {}) {
    super(message, { code: 'refused', exitCode: ExitCode.refused, ...extra });
  }
}

/** Another operator holds the lock. Exit 4. */
export class LockHeldError extends CoopctlError {
  constructor(message: string, extra: Extra = {}) {
    super(message, { code: 'lock-held', exitCode: ExitCode.lockHeld, ...extra });
  }
}

/** An operation ran and failed; the report says what state things are in. Exit 1. */
export class OperationError extends CoopctlError {
  constructor(message: string, extra: Extra & { code?: string } = {}) {
    super(message, { code: extra.code ?? 'failed', exitCode: ExitCode.failed, ...extra });
  }
}

/** A host could not be reached or a remote command failed. Exit 1. */
export class RemoteError extends OperationError {
  constructor(message: string, extra: Extra = {}) {
    super(message, { code: 'remote', ...extra });
  }
}

/** SIGINT/SIGTERM. Exit 130. */
export class InterruptedError extends CoopctlError {
  constructor(message = 'interrupted', extra: Extra = {}) {
    super(message, { code: 'interrupted', exitCode: ExitCode.interrupted, ...extra });
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
