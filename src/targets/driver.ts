/** Per variable, the files of one directory: the deploy tool sets the variable to that directory's path. */
export type DeployFiles = Record<string, ReadonlyArray<{ name: string; content: string }>>;

/** A change as it ended, for what the deploy tool keeps after it. */
export interface ChangeSummary {
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
