import type { Manifest } from '../backup/manifest.js';
import type { ChangePlan } from '../pipeline/change.js';
import { safetyBackupsFor } from '../pipeline/databaseBackups.js';
import {
  deployStage,
  preflightStage,
  restoreDatabaseStage,
  safetyBackupStage,
  verifyStage,
} from '../pipeline/library.js';
import type { Target } from '../targets/target.js';
import type { Workspace } from '../targets/workspace.js';
import { currentVersion } from './current.js';
import { patchesRunning } from './patches.js';

/**
 * A real restore of a service's database: preflight ─ [lock] ─ a fresh
 * safety backup ─ the backup into a NEW database, the app stopped, names
 * swapped (the replaced one kept) ─ the same version deployed again (the
 * migrations bring an older backup up to date) ─ verify ─ [record]. On
 * failure the safety backup is put back.
 */
export async function planRestore(ws: Workspace, t: Target, manifest: Manifest, store?: string): Promise<ChangePlan> {
  const { version: current, finding: currentFrom } = await currentVersion(ws, t);
  const backups = safetyBackupsFor(ws, t);
  const id = manifest.id;
  // deployed again as it runs: with the patches of the change that deployed it
  const patches = await patchesRunning(ws, t, current);
  return {
    operation: 'restore',
    service: t.service,
    env: t.env,
    host: t.host.name,
    from: current,
    to: current,
    notes: [],
    findings: [
      ...(currentFrom ? [currentFrom] : []),
      {
        id: 'restore',
        level: 'warn',
        message:
          `the database of ${t.service}/${t.env} is replaced by backup ${id} (${manifest.createdAt}, ` +
          `version ${manifest.version ?? '?'}); data written since is not in it; the current database is kept renamed`,
      },
    ],
    stages: [
      preflightStage({}),
      ...safetyBackupStage(backups, t, current),
      restoreDatabaseStage(id, `Restore ${id} into a new database, stop the app, swap names`, store),
      deployStage(t, current, `Deploy ${current} again (migrations bring an older backup up to date)`, patches),
      verifyStage(current, patches),
    ],
    backups,
    patches,
    patchesBefore: patches,
    recordFields: { restoredBackup: id, patchSet: patches?.set ?? null },
    restoreOnFailure: t.serviceConfig.restoreOnFailure,
  };
}
