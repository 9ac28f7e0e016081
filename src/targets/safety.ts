/** Where a backup reports its progress (a stage of the pipeline). */
export interface BackupProgress {
  signal: AbortSignal;
  /** A live line under the stage. */
  report(line: string): void;
  /** Replaces the stage's title (byte progress). */
  title(text: string): void;
}

export interface SafetyBackup {
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
export interface RestoreReach {
  /** The app was stopped for the swap: from here a failure needs the version deployed again. */
  appStopped: boolean;
  /** The live data was replaced, or may have been (a swap whose end was not seen): the safety backup goes back. */
  dataReplaced: boolean;
}
