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
import { errorMessage } from '../kernel/errors.js';
import type { Finding } from '../targets/profile.js';
import type { Target } from '../targets/target.js';
import type { Workspace } from '../workspace/workspace.js';
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
      ...backupVersionFinding(t, manifest, current),
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

/**
 * A backup of a newer release than the environment runs is refused: the version deployed again after the restore
 * would be older code on a newer schema. A restore deploys the version that runs, so the way is to upgrade first.
 */
function backupVersionFinding(t: Target, manifest: Manifest, current: string): Finding[] {
  const p = t.profile;
  const unknown = (why: string): Finding[] => [
    {
      id: 'backup-version',
      level: 'warn',
      message: `backup ${manifest.id} ${why}: if it is newer than ${current}, ${current} cannot run on it`,
    },
  ];
  if (!manifest.version) return unknown('does not say which version it was taken on');
  let newer: boolean;
  try {
    newer =
      p.compareVersions(p.parseVersion(manifest.version, `backup ${manifest.id}`), p.parseVersion(current, t.env)) > 0;
  } catch (err) {
    return unknown(`was taken on ${manifest.version}, which cannot be compared (${errorMessage(err)})`);
  }
  if (!newer) return [];
  return [
    {
      id: 'backup-version',
      level: 'fail',
      message:
        `backup ${manifest.id} was taken on ${manifest.version}, newer than the ${current} ${t.service}/${t.env} ` +
        `runs: ${current} would run on the newer schema of ${manifest.version}`,
      fix:
        `upgrade ${t.service}/${t.env} to ${manifest.version} first ` +
        `(coopctl upgrade ${t.service} --env ${t.env} --to ${manifest.version}), then restore the backup`,
    },
  ];
}
