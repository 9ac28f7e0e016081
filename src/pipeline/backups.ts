import type { StageContext } from './stages.js';
import type { Target } from '../targets/target.js';

export interface SafetyBackup {
  id: string;
  /** Shown when the stage completes ("20261129T…, 12 MiB, sha256 verified"). */
  summary: string;
}

/**
 * How a change keeps the service's data safe: a verified backup before,
 * and putting one back when the change fails (or when a restore asks for it).
 * Database dumps today; on-host copies and abra's backups plug in here.
 */
export interface SafetyBackups {
  /** What a backup holds, for the plan ("database + .env.production"). */
  describe(t: Target): string;
  /** Takes a backup of what runs now and verifies it before it counts. */
  create(t: Target, version: string, ctx: StageContext): Promise<SafetyBackup>;
  /** Puts backup `id` (from `store`, default the configured one) in place of the live data. */
  restore(t: Target, id: string, ctx: StageContext, store?: string): Promise<{ live: string; previous: string }>;
}
