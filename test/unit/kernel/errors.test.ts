import { describe, expect, it } from 'vitest';
import { BackupError } from '../../../src/backup/errors.js';
import {
  ConfigError,
  CoopctlError,
  ExitCode,
  HostKeyError,
  InputError,
  InterruptedError,
  LockHeldError,
  OperationError,
  RefusedError,
  RemoteError,
  ToolOutputError,
} from '../../../src/kernel/errors.js';

describe('error kinds: each carries its exit code and code', () => {
  it('a kind gives its code and exit code; a narrower kind keeps its parent’s exit code and instanceof', () => {
    const made = [
      new InputError('m'),
      new ConfigError('m'),
      new HostKeyError('m'),
      new ToolOutputError('m'),
      new RefusedError('m'),
      new LockHeldError('m'),
      new OperationError('m'),
      new RemoteError('m'),
      new InterruptedError(),
    ];
    expect(made.map((e) => [e.name, e.code, e.exitCode])).toEqual([
      ['InputError', 'bad-input', ExitCode.badInput],
      ['ConfigError', 'config', ExitCode.badInput],
      ['HostKeyError', 'host-key', ExitCode.badInput],
      ['ToolOutputError', 'tool-output', ExitCode.badInput],
      ['RefusedError', 'refused', ExitCode.refused],
      ['LockHeldError', 'lock-held', ExitCode.lockHeld],
      ['OperationError', 'failed', ExitCode.failed],
      ['RemoteError', 'remote', ExitCode.failed],
      ['InterruptedError', 'interrupted', ExitCode.interrupted],
    ]);
    expect(new InterruptedError().message).toBe('interrupted');
    expect(new ConfigError('m')).toBeInstanceOf(InputError);
    expect(new RemoteError('m')).toBeInstanceOf(OperationError);
    expect(made.every((e) => e instanceof CoopctlError && e instanceof Error)).toBe(true);
  });

  it('a thrower may name a finer code; hints, details and cause are kept', () => {
    const cause = new Error('below');
    const e = new InputError('m', { code: 'bad-version', hints: ['h'], details: { a: 1 }, cause });
    expect([e.code, e.exitCode, e.hints, e.details, e.cause]).toEqual(['bad-version', 2, ['h'], { a: 1 }, cause]);
    expect(new ConfigError('m').hints).toEqual([]);
    expect(new ConfigError('m').cause).toBeUndefined();
    const b = new BackupError('tampered', 'm');
    expect([b.name, b.code, b.exitCode]).toEqual(['BackupError', 'tampered', ExitCode.failed]);
    const world = new CoopctlError('m', { code: 'x', exitCode: ExitCode.refused });
    expect([world.code, world.exitCode]).toEqual(['x', ExitCode.refused]);
  });
});
