import type { HostLock, LockStatus } from '../history/lock.js';
import type { OperationRecord } from '../history/operation.js';
import type { HistoryRecord } from '../history/records.js';
import { InterruptedError, OperationError } from '../kernel/errors.js';
import type { CheckResult } from '../targets/check.js';
import type { Finding, ReleaseNote, SchemaMark } from '../targets/profile.js';
import type { Target } from '../targets/target.js';
import type { Workspace } from '../workspace/workspace.js';
import type { LoadedPatchSet } from '../config/patches.js';
import type { Stage, StageContext, StageRunner } from './stages.js';
import type { TargetView } from './view.js';

type Operation = 'upgrade' | 'rollback' | 'restore' | 'promote';
type FinalStatus = 'succeeded' | 'failed' | 'rolled-back' | 'cancelled';

/** What one run of a change learns as it goes; its stages read and write it. */
export interface ChangeRun {
  readonly ws: Workspace;
  readonly target: Target;
  readonly plan: ChangePlan;
  /** What planning read of the target (the preflight checks share its facts). */
  readonly view: TargetView;
  readonly logFile: string;
  lock?: HostLock;
  record?: OperationRecord;
  /** The backup taken before anything changed: what a restore puts back. */
  safetyBackup?: string;
  schemaBefore?: SchemaMark;
  /** The schema when the run started: once the lock is taken it must not have moved. */
  schemaPlanned?: SchemaMark;
  /** A stage that changes the service has started: from here on a failure needs a restore. */
  changed: boolean;
  /** The live database was replaced: a restore puts the safety backup back, whatever the schema says. */
  databaseReplaced: boolean;
  checks: CheckResult[];
  /** Notes the host did not take (noteBestEffort): they go with the record's final status. */
  unnoted?: Record<string, unknown>;
}

/** One step of a plan, as data: the stage that runs it is made from it (stagesOf, src/pipeline/library.ts). */
export interface PlanStage {
  id: 'preflight' | 'backup' | 'backup-offsite' | 'restore-db' | 'apply' | 'verify';
  title: string;
  /** Changes something on the host: marked in the plan, skipped under --dry-run. */
  mutates: boolean;
  /** Runs before the lock is taken (preflight): a failure there changes nothing and leaves no record. */
  beforeLock?: boolean;
  /** What it deploys, verifies or backs up. */
  version?: string;
  /** preflight: the version asked for (the version rules check it), or one deployed without being an upgrade. */
  toVersion?: string;
  deployVersion?: string;
  /** restore-db: the backup put in place, and the store it is read from (unset: the configured one). */
  backup?: string;
  store?: string;
}

/** One step of a change as it runs: what the plan prints is what runs. */
export interface ChangeStage extends Pick<PlanStage, 'title' | 'mutates' | 'beforeLock'> {
  id: string;
  run(run: ChangeRun, ctx: StageContext): Promise<string | undefined>;
}

/**
 * What a change will do, as data: assembled from what the run read (its TargetView), printed by --dry-run and
 * --dry-run --json (planDocument), then run.
 */
export interface ChangePlan {
  operation: Operation;
  service: string;
  env: string;
  host: string;
  from: string;
  to: string;
  notes: ReleaseNote[];
  findings: Finding[];
  stages: PlanStage[];
  /** More fields of the history record (the backup restored, the record undone). */
  recordFields: Record<string, unknown>;
  restoreOnFailure: 'auto' | 'ask' | 'never';
  /** The patches the deploy carries (none when unset). */
  patches?: LoadedPatchSet | null;
  /** The patches the version before ran with: what a recovery deploys `from` with (none when unset). */
  patchesBefore?: LoadedPatchSet | null;
}

export interface ChangeDeps {
  ws: Workspace;
  target: Target;
  /** What planning read of the target; unset: a view made for this run. */
  view?: TargetView;
  runner: StageRunner;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  logFile: string;
  lockWaitMs?: number;
  /** The stale lock the operator confirmed breaking (interactive runs); undefined: never break one silently. */
  breakStaleLock?: LockStatus;
  /** For restoreOnFailure: ask. */
  confirmRestore?: () => Promise<boolean>;
  /** The Matrix notices, the Alertmanager silence: told when the change starts and when it ends. */
  observers?: ChangeObserver[];
}

/** Told once the lock is held and the record exists, and once the change ended; it never waits, never throws. */
interface ChangeObserver {
  started(record: HistoryRecord): void;
  /** Whatever the ending; undefined when the run threw after it started (the record says how it ended). */
  ended(outcome: ChangeOutcome | undefined): void;
}

/** An observer whose work runs in the background: `settled()` waits for it and gives its warnings for the report. */
export interface ReportingObserver extends ChangeObserver {
  settled(): Promise<string[]>;
}

export interface ChangeOutcome {
  ok: boolean;
  status: FinalStatus;
  /** Something on the host changed before it ended (a refusal after the lock is exit 3 only when nothing did). */
  changed: boolean;
  record: HistoryRecord;
  /** Exactly where things stand, in a sentence. */
  state: string;
  error?: unknown;
  /** The lock was left on the host on purpose (Ending.keepLock). */
  lockKept?: boolean;
}

/** How the locked part of a change ended, before the record is finished (src/pipeline/record.ts). */
export interface Ending {
  status: FinalStatus;
  /** The record's last transition note. */
  note: string;
  state: string;
  error?: unknown;
  fields?: Record<string, unknown>;
  /** The lock stays on the host (left to go stale) rather than released: someone must look first. */
  keepLock?: boolean;
}

interface PlanStep {
  id: string;
  title: string;
  mutates: boolean;
}

export const LOCK_STEP_ID = 'lock';

/** What the service reports now, read again (never the plan's word); `unknown` when it does not answer. */
export function reportedVersion(run: Pick<ChangeRun, 'ws' | 'target'>): Promise<string> {
  return run.target.profile.runningVersion(run.ws, run.target).catch(() => 'unknown');
}

/**
 * A note to the record that must not stop what is under way (a recovery): a hiccup writing it on the host is
 * survived, and the fields go with the record's final status instead.
 */
export async function noteBestEffort(run: ChangeRun, fields: Record<string, unknown>): Promise<void> {
  try {
    await run.record!.note(fields);
  } catch {
    run.unnoted = { ...run.unnoted, ...fields };
  }
}

/** Where the schema stands, when the profile can tell; undefined when it cannot (nothing to compare). */
export async function readSchema(t: Target): Promise<SchemaMark | undefined> {
  if (!t.profile.schemaMark) return undefined;
  try {
    return await t.profile.schemaMark(t.remote, t);
  } catch {
    return undefined;
  }
}

/** Migrations ran (or were undone) between two schema marks. */
export function schemaChanged(a: SchemaMark, b: SchemaMark): boolean {
  return a.count !== b.count || a.newest !== b.newest;
}

export function lockTitle(where: Pick<ChangePlan, 'service' | 'env' | 'host'>): string {
  return `Take the lock of ${where.service}/${where.env} on ${where.host}`;
}

/** The steps as the plan lists them: the stages, with the lock and the record where they wrap them. */
export function planSteps(plan: ChangePlan): PlanStep[] {
  const step = (s: PlanStage): PlanStep => ({ id: s.id, title: s.title, mutates: s.mutates });
  return [
    ...plan.stages.filter((s) => s.beforeLock).map(step),
    { id: LOCK_STEP_ID, title: lockTitle(plan), mutates: true },
    ...plan.stages.filter((s) => !s.beforeLock).map(step),
    { id: 'record', title: 'Record the result in the history on the host, release the lock', mutates: true },
  ];
}

/**
 * The plan as `--dry-run --json` prints it under `plan`: one shape for upgrade, rollback, restore and promote
 * (README: "The plan as JSON"). `restores` is the backup the plan puts in place; `record`, the fields its history
 * record starts with.
 */
export function planDocument(plan: ChangePlan) {
  const { operation, service, env, host, from, to, restoreOnFailure, patches } = plan;
  return {
    operation,
    service,
    env,
    host,
    from,
    to,
    notes: plan.notes.map((n) => ({
      version: n.version,
      date: n.date ?? null,
      security: n.security,
      url: n.url ?? null,
      text: n.text,
    })),
    findings: plan.findings.map((f) => ({ id: f.id, level: f.level, message: f.message, fix: f.fix ?? null })),
    steps: planSteps(plan),
    restores: plan.stages.find((s) => s.id === 'restore-db')?.backup ?? null,
    patches: patches ? { digest: patches.set.digest, files: patches.set.patches } : null,
    restoreOnFailure,
    record: plan.recordFields,
  };
}

/**
 * A stage as the runner sees it: after SIGINT/SIGTERM, or once the lock was
 * taken away, no further stage starts (the runner would go on to the next).
 */
export function guarded(stage: ChangeStage, run: ChangeRun, signal: AbortSignal): Stage {
  return {
    id: stage.id,
    title: stage.title,
    mutates: stage.mutates,
    run: (ctx) => {
      if (signal.aborted) throw new InterruptedError(`interrupted before: ${stage.title}`);
      if (run.lock?.lost) {
        throw new OperationError(
          `stopped before "${stage.title}": the lock was released by someone else ` +
            '(lock release --force) while this run held it',
        );
      }
      return stage.run(run, ctx);
    },
  };
}
