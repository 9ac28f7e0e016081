import { printable } from '../kernel/validate.js';

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

export function finding(
  id: string,
  subject: string,
  status: DoctorStatus,
  what: { found: string; assumes: string; action: string },
): DoctorFinding {
  // what hosts and tools print can hold anything: never let it drive the operator's terminal
  return { id, subject, status, ...what, found: printable(what.found) };
}
