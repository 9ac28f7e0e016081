import type { ChangePlan, PlanStage } from '../pipeline/change.js';
import { deployStep, preflightStep, safetyBackupSteps, verifyStep } from '../pipeline/library.js';
import type { TargetView } from '../pipeline/view.js';
import type { LoadedPatchSet } from '../config/patches.js';
import type { Finding, ReleaseNote } from '../targets/profile.js';
import { patchesFinding } from './patches.js';

/** What an operation decides of its change; the rest of the plan is the same for every one. */
interface PlanParts {
  operation: ChangePlan['operation'];
  from: string;
  to: string;
  notes?: ReleaseNote[];
  findings: Finding[];
  /** For the version rules of preflight: the version asked for, or one deployed without being an upgrade. */
  preflight: { toVersion?: string; deployVersion?: string };
  /** The backup put in place of the live data before the deploy (rollback --restore-db, restore). */
  restore?: PlanStage;
  deployTitle?: string;
  /** What the deploy carries, and what `from` runs with (what a recovery deploys it with). */
  patches: LoadedPatchSet | null;
  patchesBefore: LoadedPatchSet | null;
  recordFields: Record<string, unknown>;
}

/**
 * Every change has one shape: preflight ─ [lock] ─ safety backup ─ (a backup put in place) ─ deploy `to` ─ verify
 * ─ [record]. Assembled from the view and the operation's decisions, with no I/O.
 */
export function assemblePlan(view: TargetView, p: PlanParts): ChangePlan {
  const t = view.target;
  return {
    operation: p.operation,
    service: t.service,
    env: t.env,
    host: t.host.name,
    from: p.from,
    to: p.to,
    notes: p.notes ?? [],
    findings: [...p.findings, ...patchesFinding(p.patches, p.to)],
    stages: [
      preflightStep(p.preflight),
      ...safetyBackupSteps(view.backups, t, p.from),
      ...(p.restore ? [p.restore] : []),
      deployStep(t, p.to, p.deployTitle),
      verifyStep(p.to),
    ],
    recordFields: { patchSet: p.patches?.set ?? null, ...p.recordFields },
    patches: p.patches,
    patchesBefore: p.patchesBefore,
    restoreOnFailure: t.serviceConfig.restoreOnFailure,
  };
}
