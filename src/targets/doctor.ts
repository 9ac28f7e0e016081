import type { ProcessRunner } from '../kernel/process.js';
import { printable } from '../kernel/validate.js';
import type { TargetFacts } from './check.js';
import type { Target } from './target.js';
import type { RunContext } from './runContext.js';

/** ok: the assumption holds; warn: it holds, with a caveat; fail: it does not; unknown: it could not be told. */
export type DoctorStatus = 'ok' | 'warn' | 'fail' | 'unknown';

/** One thing `coopctl doctor` looked at: what it found, what coopctl assumes, what coopctl does about it. */
export interface DoctorFinding {
  id: string;
  /** What it is about: a tool (`rclone`), a service × environment (`mastodon/alpha`), a directory... */
  subject: string;
  status: DoctorStatus;
  /** What was found (a version, a value, an error): one line, its control characters made visible. */
  found: string;
  assumes: string;
  action: string;
}

/** Where a probe runs: on this machine once per run, once per host, or once per service × environment. */
type DoctorScope = 'local' | 'host' | 'target';

export interface DoctorContext {
  /** What the run gives it: the config, the process runner, values made once per run. */
  context: RunContext;
  runner: ProcessRunner;
  /** The target the probe is about; for a host or local probe, the first of `targets`. */
  target: Target;
  /** Every selected target the probe covers: the host's (host scope), the driver's (local scope), or one. */
  targets: readonly Target[];
  facts: TargetFacts;
}

/**
 * A read-only probe of `coopctl doctor`. The generic ones live in src/checks/doctor/; a driver and a service
 * profile each bring their own (Driver.doctor, ServiceProfile.doctor). Every remote command is read-only.
 */
export interface DoctorProbe {
  id: string;
  scope: DoctorScope;
  /** When it makes sense for a target at all (default: always). */
  appliesTo?(t: Target): boolean;
  run(ctx: DoctorContext): Promise<DoctorFinding[]>;
}

export function finding(
  id: string,
  subject: string,
  status: DoctorStatus,
  what: { found: string; assumes: string; action: string },
): DoctorFinding {
  // what hosts and tools print can hold anything: never let it drive the operator's terminal
  return { id, subject, status, ...what, found: printable(what.found) };
}
