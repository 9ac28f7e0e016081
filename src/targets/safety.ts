import type { Target } from './target.js';

/** Where a backup reports its progress (a stage of the pipeline). */
interface BackupProgress {
  signal: AbortSignal;
  /** A live line under the stage. */
  report(line: string): void;
  /** Replaces the stage's title (byte progress). */
  title(text: string): void;
}

interface SafetyBackup {
  id: string;
  /** Shown when the stage completes ("20261129T…, 12 MiB, hash-checked"). */
  summary: string;
  /** With `steps`: sends the checked on-host copy offsite (its own stage); resolves to that stage's summary. */
  offsite?: (ctx: BackupProgress) => Promise<string>;
}

/**
 * How far a restore got with the live service, set by the restore as it goes: what a failure must undo. A restore
 * that stopped before either changed nothing (its new database is its own).
 */
interface RestoreReach {
  /** The app was stopped for the swap: from here a failure needs the version deployed again. */
  appStopped: boolean;
  /** The live data was replaced, or may have been (a swap whose end was not seen): the safety backup goes back. */
  dataReplaced: boolean;
}

/**
 * How a change keeps the service's data safe: a verified backup before,
 * and putting one back when the change fails (or when a restore asks for it).
 * Database dumps by default (src/pipeline/databaseBackups.ts); a driver may
 * bring its own (Driver.safetyBackups), as abra's backups will.
 */
export interface SafetyBackups {
  /** Why changes take no safety backup (backup.requiredBeforeChange: false); unset: they take one. */
  off?: string;
  /** What a backup holds, for the plan ("database + .env.production"). */
  describe(t: Target): string;
  /**
   * Backups taken in two steps, each a stage of the plan: a checked copy on the host (a restore can use it from
   * then on), then the same bytes to the offsite store; these are the two stages' titles.
   */
  steps?(t: Target): { copy: string; offsite: string };
  /** Takes a backup of what runs now and verifies it before it counts. */
  create(t: Target, version: string, ctx: BackupProgress): Promise<SafetyBackup>;
  /** The backups the deploy tool itself keeps of the target (abra's restic snapshots), newest first. */
  list?(t: Target): Promise<Array<{ id: string; time: string; size?: number; paths: string[] }>>;
  /** Puts backup `id` (from `store`, default the configured one) in place of the live data, marking `reach`. */
  restore(
    t: Target,
    id: string,
    ctx: BackupProgress,
    reach: RestoreReach,
    store?: string,
  ): Promise<{ live: string; previous: string; volumesKept?: string[] }>;
}
