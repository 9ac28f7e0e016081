import type { RestoreFacts } from '../backup/restoreFacts.js';
import type { RemoteHost } from '../remote/ssh.js';
import type { Check, TargetFacts } from './check.js';
import type { DoctorProbe } from './doctor.js';
import type { DeployInput } from './driver.js';
import type { LoadedPatchSet } from '../config/patches.js';
import type { Target } from './target.js';
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

interface VersionStatus {
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

interface ListVersionsOptions {
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

interface ChangeReview {
  notes: ReleaseNote[];
  findings: Finding[];
  /** More fields of the change's history record. */
  recordFields?: Record<string, unknown>;
}

interface VerifyOptions {
  /** The run's context: the config, the process runner, values made once per run. */
  ws: RunContext;
  /** The patches deployed with the version: their declared effects are checked too. */
  patches?: LoadedPatchSet | null;
  signal?: AbortSignal;
  onAttempt?(line: string): void;
}

interface Verification {
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

/**
 * What an application is: how its versions are named, ordered and checked,
 * how its running version and health are read (on the host, not through a
 * cache), its data (database, secrets file) and its app services. Mastodon is
 * one (src/services/mastodon/); adding a service is a profile plus config.
 */
export interface ServiceProfile {
  readonly id: string;
  /** Host variables (besides coopctl_*) this profile reads from the inventory; only these are cached. */
  readonly hostVariables: readonly string[];
  /** The service's directory on its host: a host variable, else a default. */
  dataDir(vars: (name: string) => string | undefined): string | undefined;
  /** Defaults for the database config keys; absent when the service has no database coopctl dumps. */
  readonly database?: { name: string; tables: string[] };
  /** The secrets file a backup carries, relative to the data dir (encryption keys live there). */
  readonly secretsFile?: string;
  /** What the restore test counts of this app's data besides `tables:`, restored and live (Keycloak: its users). */
  restoreFacts?(t: Target): RestoreFacts | undefined;
  /** The app's processes on the host that hold database connections (stopped before a database swap). */
  databaseClients(t: Target): Promise<string[]>;
  /** Preflight checks of this application (version rules, floors of its dependencies). */
  readonly checks: readonly Check[];
  /** What `coopctl doctor` checks of this application on its host (its API, its database and their versions). */
  readonly doctor?: readonly DoctorProbe[];
  /** Throws an InputError naming `source` when `text` is not a version of this application. */
  parseVersion(text: string, source: string): string;
  /** <0, 0, >0, like a sort comparator. */
  compareVersions(a: string, b: string): number;
  /** Variables a deploy of `version` needs (the name the playbook reads the version under), and files (patches). */
  deployInput(version: string, patches?: LoadedPatchSet | null): DeployInput;
  runningVersion(context: RunContext, t: Target): Promise<string>;
  /** What the host's deployment says runs (a compose file's image tag), for when the service does not answer. */
  deployedVersion?(t: Target): Promise<string>;
  /** null: the service has no health endpoint configured. */
  health(t: Target): Promise<Health | null>;
  verify(t: Target, version: string, opts: VerifyOptions): Promise<Verification>;
  listVersions(context: RunContext, t: Target, opts: ListVersionsOptions): Promise<VersionCatalog>;
  /** What runs and what is newer, for `status`; what could not be read is in `errors`, never thrown. */
  versionStatus(context: RunContext, t: Target): Promise<VersionStatus>;
  versionChoice(
    context: RunContext,
    t: Target,
    opts: { includePrerelease: boolean; facts: TargetFacts },
  ): Promise<VersionChoice>;
  /** Release notes of every version in (from, to] and the rules' findings for that change. */
  reviewChange(
    t: Target,
    choice: VersionChoice,
    to: string,
    opts: { allowPrerelease: boolean; facts: TargetFacts; ws: RunContext; fromChaos?: boolean },
  ): Promise<ChangeReview>;
  schemaMark?(remote: RemoteHost, t: Target): Promise<SchemaMark>;
  /**
   * Whether `older` runs on the database now that migrations towards `newer` ran on it (a failed upgrade, a
   * rollback): the restore of a backup is needed only when it does not. Throws when it cannot be told.
   */
  schemaFit?(context: RunContext, t: Target, older: string, newer: string): Promise<SchemaFit>;
}
