import { chmodSync, mkdirSync } from 'node:fs';

/**
 * What coopctl keeps on this machine may hold secrets or data (logs of runs, backups, lock ids, inventory
 * variables): directories 0700, files 0600. Files get their mode when they are created (never a chmod after the
 * secret is in); umask can only take bits away from these.
 */
export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/**
 * A directory of coopctl's own (never a shared one such as /tmp), made 0700 (its parents too) and tightened to
 * 0700 if it was made otherwise.
 */
export function privateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  chmodSync(dir, PRIVATE_DIR);
  return dir;
}
