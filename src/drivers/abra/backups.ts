import { BackupError } from '../../backup/errors.js';
import { formatBytes } from '../../kernel/validate.js';
import type { SafetyBackups, Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';
import { abraClient, abraConfig, reportingAbraClient } from './app.js';
import { holdingRecipe } from './deploy.js';
import { readDumpBack } from './dumpReadback.js';
import { backupDumpFiles } from './recipeLabels.js';

/**
 * Proves snapshot `id` of the app holds its dumps by reading each back (backup-bot-two's listing has no sizes,
 * and backupbot and abra report success for an empty dump: reference/abra.md); throws what is missing or empty.
 */
async function proveSnapshot(context: RunContext, t: Target, id: string, version: string): Promise<string> {
  const { domain, recipe } = abraConfig(t);
  const abra = abraClient(context);
  const compose = await abra.recipes.fileAt(recipe, version, 'compose.yml');
  const dumpNames = compose ? backupDumpFiles(compose) : [];
  if (!dumpNames.length) {
    throw new BackupError(
      'corrupt-dump',
      `snapshot ${id} of ${domain} cannot be proven: ${recipe} ${version} names no dump file`,
      {
        hints: ['coopctl proves an abra snapshot by reading its database dump back: configure `database:` for the app'],
      },
    );
  }
  const paths = (await abra.snapshotFiles(domain, id)).map((f) => f.path);
  let bytes = 0;
  for (const name of dumpNames) {
    const file = paths.find((p) => p === name || p.endsWith(`/${name}`));
    if (!file) {
      throw new BackupError('corrupt-dump', `snapshot ${id} of ${domain} holds none of its ${dumpNames.join(', ')}`, {
        hints: ["run `abra app backup ls` on it; check the recipe's backupbot labels"],
      });
    }
    bytes += (await readDumpBack(context.runner, abra, { domain, id }, file)).bytes;
  }
  return `${dumpNames.length} dump(s), ${formatBytes(bytes)} read back, complete`;
}

/**
 * abra's backups (backup-bot-two: restic) as the safety net of a change, for apps coopctl does not dump itself
 * (no `database:` in their config): a snapshot proven to hold data before the change, restored in place after a
 * failure (the recipe's restore hook replaces the data; the replaced data is not kept).
 */
export function abraSafetyBackups(context: RunContext): SafetyBackups {
  return {
    describe: () => 'abra app backup: a restic snapshot, proven to hold data',
    async create(t, version, ctx) {
      const { domain } = abraConfig(t);
      const abra = reportingAbraClient(context, ctx.report);
      const what = `abra app backup create ${domain}`;
      const r = await holdingRecipe(context, t, what, ctx.report, () => abra.backupApp(domain), ctx.signal);
      if (!r.snapshotId) {
        throw new BackupError('dump-failed', `${what}: no snapshot id in its output`, {
          hints: ["backup-bot-two's summary (restic's JSON) named no snapshot_id: see the log"],
        });
      }
      // restic's short id, the one backup-bot-two lists snapshots by (restic takes any unique prefix)
      const id = r.snapshotId.slice(0, 8);
      const proof = await proveSnapshot(context, t, id, version);
      return { id, summary: `restic snapshot ${r.snapshotId}: ${proof}` };
    },
    async list(t) {
      const snapshots = await abraClient(context).listSnapshots(abraConfig(t).domain);
      return snapshots.reverse().map((x) => ({ id: x.id, time: x.time, paths: [] }));
    },
    async restore(t, id, ctx, reach) {
      const { domain } = abraConfig(t);
      const abra = reportingAbraClient(context, ctx.report);
      const what = `abra app restore ${domain} -s ${id}`;
      await holdingRecipe(context, t, what, ctx.report, () => {
        // In place: once abra starts, the live data may no longer be what it was.
        Object.assign(reach, { appStopped: true, dataReplaced: true });
        return abra.restoreApp(domain, id);
      });
      return { live: `${domain}'s data (snapshot ${id})`, previous: 'nothing (abra restores in place)' };
    },
  };
}
