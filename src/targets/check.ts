import type { VolumeSize } from '../backup/volumes.js';

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

export const pass = (message: string): Omit<CheckResult, 'id'> => ({ status: 'pass', message });
export const warn = (message: string, fix?: string): Omit<CheckResult, 'id'> => ({ status: 'warn', message, fix });
export const fail = (message: string, fix?: string): Omit<CheckResult, 'id'> => ({ status: 'fail', message, fix });
