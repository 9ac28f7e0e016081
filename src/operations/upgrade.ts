import { HostFacts } from '../checks/facts.js';
import type { ChangePlan } from '../pipeline/change.js';
import { safetyBackupsFor } from '../pipeline/databaseBackups.js';
import { deployStage, preflightStage, safetyBackupStage, verifyStage } from '../pipeline/library.js';
import { loadPatchSet, patchSetOf } from '../config/patches.js';
import type { VersionChoice } from '../targets/profile.js';
import type { Target } from '../targets/target.js';
import type { Workspace } from '../workspace/workspace.js';
import { patchesFinding, patchesRunning } from './patches.js';

/** What the host runs and what it could move to (read from the host and the version source, never from memory). */
export function readVersionChoice(ws: Workspace, t: Target, includePrerelease: boolean): Promise<VersionChoice> {
  return t.profile.versionChoice(ws, t, { includePrerelease, facts: new HostFacts(ws, t) });
}

/** preflight ─ [lock] ─ safety backup ─ deploy `to` ─ verify ─ [record]. */
export async function planUpgrade(
  ws: Workspace,
  t: Target,
  choice: VersionChoice,
  to: string,
  allowPrerelease: boolean,
  fromChaos = false,
): Promise<ChangePlan> {
  const facts = new HostFacts(ws, t);
  const review = await t.profile.reviewChange(t, choice, to, { allowPrerelease, facts, ws, fromChaos });
  const backups = safetyBackupsFor(ws, t);
  const patches = loadPatchSet(ws.loaded, t.service, t.env);
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
      preflightStage({ toVersion: to }),
      ...safetyBackupStage(backups, t, choice.current),
      deployStage(t, to, undefined, patches),
      verifyStage(to, patches),
    ],
    backups,
    recordFields: { patchSet: patchSetOf(ws, t), ...review.recordFields },
    patches,
    patchesBefore: await patchesRunning(ws, t, choice.current),
    restoreOnFailure: t.serviceConfig.restoreOnFailure,
  };
}
