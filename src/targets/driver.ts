import type { ServiceConfig, ServiceSchema } from '../config/schema.js';
import type { Check } from './check.js';
import type { DoctorProbe } from './doctor.js';
import type { SafetyBackups } from './safety.js';
import type { Target } from './target.js';
import type { RunContext } from './runContext.js';

/** Per variable, the files of one directory: the deploy tool sets the variable to that directory's path. */
export type DeployFiles = Record<string, ReadonlyArray<{ name: string; content: string }>>;

/** A change as it ended, for what the deploy tool keeps after it. */
interface ChangeSummary {
  record: string;
  operation: string;
  status: string;
  from: string;
  to: string;
}

/** What a deploy of a version passes to the deploy tool, from the service profile. */
export type DeployInput = Pick<DeployRequest, 'variables' | 'files'>;

/** One deployment of a version to a target. */
export interface DeployRequest {
  version: string;
  /** Variables the profile passes to the deploy tool (e.g. the version under the name the playbook reads). */
  variables: Record<string, unknown>;
  /** Files the deploy tool gets as files, never as values it could template (a patch with `{{` in it). */
  files?: DeployFiles;
  /** The full log of the deploy tool goes here. */
  logFile: string;
  /** Stops the deploy tool (Ctrl-C during apply); a recovery deploy runs without one. */
  signal?: AbortSignal;
  /** A live line under the stage (a task as it runs). */
  report(line: string): void;
}

export interface DeployResult {
  ok: boolean;
  /** Shown when the stage completes ("3 tasks changed"). */
  summary: string;
  /** Why it failed, in one line, with where to look. */
  failure?: string;
  hints?: string[];
  /** It failed before it changed anything on the host (a failed assert, a missing lookup): nothing to undo. */
  changedNothing?: boolean;
  /** What goes into the history record about this deploy. */
  details: Record<string, unknown>;
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
