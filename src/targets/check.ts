import type { VolumeSize } from '../backup/volumes.js';
import type { ProcessRunner } from '../kernel/process.js';
import type { Target } from './target.js';
import type { Workspace } from './workspace.js';

type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  id: string;
  status: CheckStatus;
  message: string;
  fix?: string;
}

/** Facts about the target read once per run and shared by the checks (src/checks/facts.ts). */
export interface TargetFacts {
  dbSizeBytes(): Promise<number>;
  volumeBytes(): Promise<VolumeSize[]>;
  postgresVersion(): Promise<string>;
  runningVersion(): Promise<string>;
}

export interface CheckContext {
  target: Target;
  workspace: Workspace;
  runner: ProcessRunner;
  facts: TargetFacts;
  /** Requested target version (--to), if any. */
  toVersion?: string;
  /** The version the change deploys when it is no upgrade (a rollback's older one); the version rules skip it. */
  deployVersion?: string;
  allowPrerelease: boolean;
}

/**
 * One preflight check. The generic ones live in src/checks/; a driver and a
 * service profile each bring their own (Target.driver.checks, Target.profile.checks).
 */
export interface Check {
  id: string;
  /** Checks whose failure makes this one meaningless (it is then reported as not run). */
  needs?: string[];
  /**
   * Only in `coopctl preflight`: a change's pipeline does this itself (its lock
   * stage; ansible-playbook checks the syntax before its first task).
   */
  standalone?: boolean;
  /** When it makes sense for a target at all (default: always); a check that does not apply is not reported. */
  appliesTo?(t: Target): boolean;
  run(ctx: CheckContext): Promise<Omit<CheckResult, 'id'>>;
}

export const pass = (message: string): Omit<CheckResult, 'id'> => ({ status: 'pass', message });
export const warn = (message: string, fix?: string): Omit<CheckResult, 'id'> => ({ status: 'warn', message, fix });
export const fail = (message: string, fix?: string): Omit<CheckResult, 'id'> => ({ status: 'fail', message, fix });
