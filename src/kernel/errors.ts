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

type Extra = { code?: string; hints?: string[]; details?: Record<string, unknown>; cause?: unknown };

/**
 * A subclass is a kind of failure: its errors carry its static `exitCode`, and its static `code` unless the thrower
 * names a finer one (`new InputError(msg, { code: 'bad-version' })`). A CoopctlError made as such names both.
 */
export class CoopctlError extends Error {
  static readonly code: string = 'failed';
  static readonly exitCode: ExitCodeValue = ExitCode.failed;

  readonly code: string;
  readonly exitCode: ExitCodeValue;
  /** Extra lines printed under the message (a fix hint, the holder of a lock, ...). */
  readonly hints: string[];
  /** Structured details added to the --json error document. */
  readonly details?: Record<string, unknown>;

  constructor(message: string, opts: Extra & { exitCode?: ExitCodeValue } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    const kind = new.target as typeof CoopctlError;
    this.name = kind.name;
    this.code = opts.code ?? kind.code;
    this.exitCode = opts.exitCode ?? kind.exitCode;
    this.hints = opts.hints ?? [];
    this.details = opts.details;
  }
}

/** Bad flags, arguments or versions: nothing ran remotely. Exit 2. */
export class InputError extends CoopctlError {
  static override readonly code: string = 'bad-input';
  static override readonly exitCode: ExitCodeValue = ExitCode.badInput;
}

/** Invalid configuration, inventory or secret reference. Exit 2. */
export class ConfigError extends InputError {
  static override readonly code: string = 'config';
}

/** A host presented an unknown or changed SSH host key. Exit 2: fix known_hosts first. */
export class HostKeyError extends InputError {
  static override readonly code: string = 'host-key';
}

/** Output of an external tool that coopctl cannot trust or parse. Exit 2. */
export class ToolOutputError extends InputError {
  static override readonly code: string = 'tool-output';
}

/** Preflight or verification refused the operation. Exit 3. */
export class RefusedError extends CoopctlError {
  static override readonly code: string = 'refused';
  static override readonly exitCode: ExitCodeValue = ExitCode.refused;
}

/** Another operator holds the lock. Exit 4. */
export class LockHeldError extends CoopctlError {
  static override readonly code: string = 'lock-held';
  static override readonly exitCode: ExitCodeValue = ExitCode.lockHeld;
}

/** An operation ran and failed; the report says what state things are in. Exit 1. */
export class OperationError extends CoopctlError {}

/** A host could not be reached or a remote command failed. Exit 1. */
export class RemoteError extends OperationError {
  static override readonly code: string = 'remote';
}

/** SIGINT/SIGTERM. Exit 130. */
export class InterruptedError extends CoopctlError {
  static override readonly code: string = 'interrupted';
  static override readonly exitCode: ExitCodeValue = ExitCode.interrupted;

  constructor(message = 'interrupted', extra: Extra = {}) {
    super(message, extra);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
