import type { DbTarget } from '../backup/commands.js';
import type { RestoreFacts } from '../backup/restoreFacts.js';
import type { BackupVolume } from '../backup/volumes.js';
import type { InventoryHost } from '../config/inventory.js';
import type { LoadedPatchSet } from '../config/patches.js';
import type { EnvironmentConfig, ServiceConfig, ServiceSchema } from '../config/schema.js';
import type { ProcessRunner } from '../kernel/process.js';
import type { RemoteHost } from '../remote/ssh.js';
import type { CheckResult, TargetFacts } from './check.js';
import type { DoctorFinding } from './doctor.js';
import type { ChangeSummary, DeployInput, DeployRequest, DeployResult } from './driver.js';
import type {
  ChangeReview,
  Health,
  ListVersionsOptions,
  SchemaFit,
  SchemaMark,
  Verification,
  VerifyOptions,
  VersionCatalog,
  VersionChoice,
  VersionStatus,
} from './profile.js';
import type { ServiceMonitoring } from './publicProbe.js';
import type { RunContext } from './runContext.js';
import type { BackupProgress, RestoreReach, SafetyBackup } from './safety.js';

/*
 * A target and the interfaces it is made of (Driver, ServiceProfile) or that act on it (Check, DoctorProbe,
 * SafetyBackups) refer to one another, so they are declared in this one module: split up, they import each other.
 * What they take and give, which refers to none of them, is in check.ts, doctor.ts, driver.ts, profile.ts, safety.ts.
 */

/** Filesystem locations on a host that checks and operations use; inventory vars override. */
export interface HostPaths {
  stateDir: string;
  tmpDir: string;
  /** The service's directory on the host (its compose project, its secrets file). */
  dataDir: string;
  mdstat: string;
  rebootRequired: string;
  /** The on-host backup copies (backup.onHost.dir, or the inventory's coopctl_backup_dir). */
  backupDir: string;
}

/** The service's database on its host, with the tables whose row counts prove a backup or restore. */
export interface ServiceDatabase extends DbTarget {
  tables: string[];
}

/**
 * One service × environment, resolved: where it runs, how it is deployed
 * (driver) and what it is (profile). Everything an operation needs.
 */
export interface Target {
  service: string;
  env: string;
  host: InventoryHost;
  remote: RemoteHost;
  paths: HostPaths;
  serviceConfig: ServiceConfig;
  envConfig: EnvironmentConfig;
  driver: Driver;
  profile: ServiceProfile;
  /** Absent for services coopctl does not dump itself. */
  database?: ServiceDatabase;
  /** The data volumes backed up with the database (`volumes:`): the config's name and Docker's. */
  volumes: BackupVolume[];
}

/**
 * How a service is deployed: ansible-playbook with a playbook and an
 * inventory, or abra with a recipe and a server. The pipeline only talks to
 * a driver through this interface.
 */
export interface Driver {
  readonly id: string;
  /** The service keys this driver reads in coopctl.yaml (validated with file:line errors). */
  readonly configSchema: ServiceSchema;
  /** References between services its keys make that do not hold (reported at their path, with file:line). */
  configIssues?(
    services: Readonly<Record<string, ServiceConfig>>,
  ): Array<{ path: (string | number)[]; message: string }>;
  /** Where the service lives on its host when the inventory does not say (`coopctl_data_dir`). */
  readonly defaultDataDir?: string;
  /** Preflight checks this way of deploying needs (the tool is installed, the recipe checkout is clean...). */
  readonly checks: readonly Check[];
  /** What `coopctl doctor` checks of this way of deploying (the tool, its flags, its config dirs). */
  readonly doctor?: readonly DoctorProbe[];
  /** The service profile of services that name none (abra: a Co-op Cloud recipe app). */
  readonly defaultProfile?: string;
  /** The title of the stage that deploys `version` ("Run the playbook with 4.4.8"). */
  describeDeploy(version: string): string;
  deploy(context: RunContext, t: Target, req: DeployRequest): Promise<DeployResult>;
  /** What the preview is, as the plan labels it. */
  readonly previewTitle?: string;
  /** A read-only preview of a deploy for the plan (ansible-playbook --check --diff); best effort. */
  preview?(context: RunContext, t: Target, req: Omit<DeployRequest, 'report'>): Promise<string>;
  /**
   * After a failed or interrupted deploy: waits until what it started on the host has ended (a migration the deploy
   * tool ran, or one the failed version runs on boot: abra rolls the stack back to `previous` first), so that
   * nothing changes the database under a restore. Throws when it does not end in time.
   */
  settle?(context: RunContext, t: Target, report: (line: string) => void, previous?: string): Promise<void>;
  /**
   * After a change that touched the service, whatever its ending: keeps what the deploy tool leaves beside it (abra's
   * version pin, committed in the operators' servers repository). Returns fields for the record; never throws.
   */
  afterChange?(context: RunContext, t: Target, change: ChangeSummary): Promise<Record<string, unknown>>;
  /** Stops the app's processes that hold database connections (before the database is swapped). */
  stopServices(context: RunContext, t: Target, services: readonly string[]): Promise<void>;
  /** Backups this way of deploying brings (abra's backupbot) for a target; undefined: coopctl's database dumps. */
  safetyBackups?(context: RunContext, t: Target): SafetyBackups | undefined;
  /** The swarm service running the database `container` of an environment (abra: `<stack>_db`); unset: compose. */
  databaseService?(svc: ServiceConfig, env: string, container: string): string;
  /** The Docker volume of a compose volume `name` of an environment (abra: the swarm's `<stack>_<name>`). */
  volumeName?(svc: ServiceConfig, env: string, name: string): string;
  /** The version the deploy tool says is deployed (abra: the stack's label), for profiles that cannot ask the app. */
  deployedVersion?(context: RunContext, t: Target): Promise<string>;
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
  /** What the monitoring watches of it (`monitor render`); unset: its health URL, as a Co-op Cloud app's. */
  readonly monitoring?: ServiceMonitoring;
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
    opts: { allowPrerelease: boolean; facts: TargetFacts; context: RunContext; fromChaos?: boolean },
  ): Promise<ChangeReview>;
  schemaMark?(remote: RemoteHost, t: Target): Promise<SchemaMark>;
  /**
   * Whether `older` runs on the database now that migrations towards `newer` ran on it (a failed upgrade, a
   * rollback): the restore of a backup is needed only when it does not. Throws when it cannot be told.
   */
  schemaFit?(context: RunContext, t: Target, older: string, newer: string): Promise<SchemaFit>;
}

export interface CheckContext {
  target: Target;
  /** What the run gives it: the config, the process runner, values made once per run. */
  context: RunContext;
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
  appliesTo?(t: Target, ctx?: CheckContext): boolean;
  run(ctx: CheckContext): Promise<Omit<CheckResult, 'id'>>;
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
