import type { ChangePlan } from '../pipeline/change.js';
import type { TargetView } from '../pipeline/view.js';
import type { VersionChoice } from '../targets/profile.js';
import { assemblePlan } from './assemble.js';
import { patchesRunning } from './patches.js';

/** preflight ─ [lock] ─ safety backup ─ deploy `to` ─ verify ─ [record]. */
export async function planUpgrade(
  view: TargetView,
  choice: VersionChoice,
  to: string,
  allowPrerelease: boolean,
  fromChaos = false,
): Promise<ChangePlan> {
  const review = await view.review(choice, to, { allowPrerelease, fromChaos });
  return assemblePlan(view, {
    operation: 'upgrade',
    from: choice.current,
    to,
    notes: review.notes,
    findings: review.findings,
    preflight: { toVersion: to },
    patches: view.patches(),
    patchesBefore: await patchesRunning(view, choice.current),
    recordFields: { ...review.recordFields },
  });
}
