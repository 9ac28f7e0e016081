import type { ProcessRunner } from '../kernel/process.js';
import type { Target, Workspace } from '../targets/workspace.js';
import type { HostFacts } from './facts.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  id: string;
  status: CheckStatus;
  message: string;
  fix?: string;
}

export interface CheckContext {
  target: Target;
  workspace: Workspace;
  runner: ProcessRunner;
  facts: HostFacts;
  /** Requested target version (--to), if any. */
  toVersion?: string;
  allowPrerelease: boolean;
}

export interface Check {
  id: string;
  /** Which drivers it applies to. */
  drivers: ReadonlyArray<Target['driver']>;
  /** Checks whose failure makes this one meaningless (it is then reported as not run). */
  needs?: string[];
  run(ctx: CheckContext): Promise<Omit<CheckResult, 'id'>>;
}

export const pass = (message: string): Omit<CheckResult, 'id'> => ({ status: 'pass', message });
export const warn = (message: string, fix?: string): Omit<CheckResult, 'id'> => ({ status: 'warn', message, fix });
export const fail = (message: string, fix?: string): Omit<CheckResult, 'id'> => ({ status: 'fail', message, fix });
