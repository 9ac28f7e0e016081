import { BackupError } from '../../backup/errors.js';
import { formatBytes } from '../../kernel/validate.js';
import type { SafetyBackups } from '../../targets/safety.js';
import type { Target } from '../../targets/target.js';
import type { Workspace } from '../../targets/workspace.js';
import { abraClient, abraConfig, reportingAbraClient } from './app.js';
import { holdingRecipe } from './deploy.js';
import { backupDumpFiles } from './recipeLabels.js';
import type { SnapshotFile } from './snapshots.js';

/**
 * The files that prove a snapshot holds data: the dump files the recipe's labels name (a database's pre-hook dump),
 * else every file. backupbot and abra report success for an empty dump (reference/abra.md): only the snapshot's
 * own listing tells.
 */
function provingFiles(files: readonly SnapshotFile[], dumpNames: readonly string[]): SnapshotFile[] {
  const regular = files.filter((f) => !f.directory);
  if (!dumpNames.length) return regular;
  return regular.filter((f) => dumpNames.some((n) => f.path === n || f.path.endsWith(`/${n}`)));
}

/** Proves snapshot `id` of the app holds data; throws what is empty or missing. */
async function proveSnapshot(ws: Workspace, t: Target, id: string, version: string): Promise<string> {
  const { domain, recipe } = abraConfig(t);
  const abra = abraClient(ws);
  const compose = await abra.recipes.fileAt(recipe, version, 'compose.yml');
  const dumpNames = compose ? backupDumpFiles(compose) : [];
  const files = await abra.snapshotFiles(domain, id);
  const checked = provingFiles(files, dumpNames);
  const what = dumpNames.length ? dumpNames.join(', ') : 'files';
  if (!checked.length) {
    throw new BackupError('corrupt-dump', `snapshot ${id} of ${domain} holds none of its ${what}`, {
      hints: ["run `abra app backup ls` on it; check the recipe's backupbot labels"],
    });
  }
  const empty = checked.filter((f) => f.size === 0);
  if (empty.length) {
    throw new BackupError(
      'corrupt-dump',
      `snapshot ${id} of ${domain} is not a backup: ${empty.map((f) => f.path).join(', ')} is empty ` +
        '(the pre-hook dumped nothing, though abra reported success)',
      { hints: ['abra app backup does not work for this app: configure `database:` for it so coopctl dumps it'] },
    );
  }
  const bytes = checked.reduce((n, f) => n + f.size, 0);
  return `${checked.length} ${dumpNames.length ? 'dump' : 'file'}(s), ${formatBytes(bytes)}`;
}

/**
 * abra's backups (backup-bot-two: restic) as the safety net of a change, for apps coopctl does not dump itself
 * (no `database:` in their config): a snapshot proven to hold data before the change, restored in place after a
 * failure (the recipe's restore hook replaces the data; the replaced data is not kept).
 */
export function abraSafetyBackups(ws: Workspace): SafetyBackups {
  return {
    describe: () => 'abra app backup: a restic snapshot, proven to hold data',
    async create(t, version, ctx) {
      const { domain } = abraConfig(t);
      const abra = reportingAbraClient(ws, ctx.report);
      const what = `abra app backup create ${domain}`;
      const r = await holdingRecipe(ws, t, what, ctx.report, () => abra.backupApp(domain), ctx.signal);
      if (!r.snapshotId) {
        throw new BackupError('dump-failed', `${what}: no snapshot id in its output`, {
          hints: ['abra printed no "snapshot … saved" line: see the log'],
        });
      }
      const proof = await proveSnapshot(ws, t, r.snapshotId, version);
      return { id: r.snapshotId, summary: `restic snapshot ${r.snapshotId}: ${proof}` };
    },
    async list(t) {
      const snapshots = await abraClient(ws).listSnapshots(abraConfig(t).domain);
      return snapshots.reverse().map((x) => ({ id: x.id, time: x.time, size: x.size, paths: x.paths }));
    },
    async restore(t, id, ctx, reach) {
      const { domain } = abraConfig(t);
      const abra = reportingAbraClient(ws, ctx.report);
      const what = `abra app restore ${domain} -s ${id}`;
      await holdingRecipe(ws, t, what, ctx.report, () => {
        // In place: once abra starts, the live data may no longer be what it was.
        Object.assign(reach, { appStopped: true, dataReplaced: true });
        return abra.restoreApp(domain, id);
      });
      return { live: `${domain}'s data (snapshot ${id})`, previous: 'nothing (abra restores in place)' };
    },
  };
}
