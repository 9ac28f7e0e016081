import type { ChangePlan } from '../pipeline/change.js';
import { deployStep, preflightStep, safetyBackupSteps, verifyStep } from '../pipeline/library.js';
import type { TargetView } from '../pipeline/view.js';
import type { VersionChoice } from '../targets/profile.js';
import { patchesFinding, patchesRunning } from './patches.js';

/** preflight ─ [lock] ─ safety backup ─ deploy `to` ─ verify ─ [record]. */
export async function planUpgrade(
  view: TargetView,
  choice: VersionChoice,
  to: string,
  allowPrerelease: boolean,
  fromChaos = false,
): Promise<ChangePlan> {
  const t = view.target;
  const review = await view.review(choice, to, { allowPrerelease, fromChaos });
  const patches = view.patches();
  return {
    operation: 'upgrade',
    service: t.service,
    env: t.env,
    host: t.host.name,
    from: choice.current,
    to,
    notes: review.notes,
    findings: [...review.findings, ...patchesFinding(patches, to)],
    stages: [
      preflightStep({ toVersion: to }),
      ...safetyBackupSteps(view.backups, t, choice.current),
      deployStep(t, to),
      verifyStep(to),
    ],
    recordFields: { patchSet: patches?.set ?? null, ...review.recordFields },
    patches,
    patchesBefore: await patchesRunning(view, choice.current),
    restoreOnFailure: t.serviceConfig.restoreOnFailure,
  };
}
