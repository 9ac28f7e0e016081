import type { LoadedPatchSet } from '../config/patches.js';
import type { RunContext } from './runContext.js';

/** One release as `versions`, `status`, the picker and the plan show it. */
export interface VersionEntry {
  version: string;
  series: string;
  prerelease: boolean;
  security: boolean;
  date?: string;
  /** Release notes of this version, when asked for. */
  notes?: string;
  current: boolean;
  newer: boolean;
}

export interface VersionCatalog {
  /** Newest first. */
  versions: VersionEntry[];
  warnings: string[];
}

export interface VersionStatus {
  version: string | null;
  /** The deploy is not a release: the version label plus the commit of the checkout it came from. */
  chaos?: string | null;
  latest: string | null;
  /** A newer stable version exists. */
  behind: boolean;
  /** The newer stable versions that are security releases, newest first. */
  securityReleases: string[];
  errors: string[];
}

export interface ListVersionsOptions {
  /** The running version, to mark it and what is newer. */
  current?: string;
  includePrerelease: boolean;
  notes: 'none' | 'newer' | 'all';
}

/** A version the picker offers, sensible targets first; refused ones carry the reason. */
interface TargetSuggestion {
  version: string;
  allowed: boolean;
  reason: string;
  prerelease: boolean;
  security: boolean;
}

export interface ReleaseNote {
  version: string;
  date?: string;
  security: boolean;
  text: string;
  /** Where to read it in full (the release page). */
  url?: string;
}

/** What the version rules say about a change: refused (fail), to be read (warn), fine (ok). */
export interface Finding {
  id: string;
  level: 'ok' | 'warn' | 'fail';
  message: string;
  fix?: string;
}

/** The versions around a change, read from the host and the version source (never from memory). */
export interface VersionChoice {
  current: string;
  /** The running deploy is not a release but a checkout (abra's chaos deploy): its commit. */
  chaos?: { commit: string };
  catalog: VersionCatalog;
  suggestions: TargetSuggestion[];
}

export interface ChangeReview {
  notes: ReleaseNote[];
  findings: Finding[];
  /** More fields of the change's history record. */
  recordFields?: Record<string, unknown>;
}

export interface VerifyOptions {
  /** The run's context: the config, the process runner, values made once per run. */
  context: RunContext;
  /** The patches deployed with the version: their declared effects are checked too. */
  patches?: LoadedPatchSet | null;
  signal?: AbortSignal;
  onAttempt?(line: string): void;
}

export interface Verification {
  ok: boolean;
  /** One line: what was checked and what failed. */
  summary: string;
  checks: Array<{ id: string; ok: boolean; message: string }>;
  /** Everything, for the history record. */
  details: Record<string, unknown>;
}

export interface Health {
  healthy: boolean;
  latencyMs: number | null;
  error?: string;
}

/** Where the database schema stands, to tell whether a failed change already migrated it. */
export interface SchemaMark {
  count: number;
  newest: string;
}

/** Whether an older version runs on the database as it is now, after a newer version's migrations ran on it. */
export interface SchemaFit {
  /** true: the migrations the older version does not know are all made for it to run on (pre-deployment ones). */
  fits: boolean;
  /** One sentence, for the report and the record. */
  reason: string;
  /** The applied migrations the older version does not know: pre- and post-deployment ones of the newer version. */
  pre: string[];
  post: string[];
  /** Neither version has these. */
  unknown: string[];
}
