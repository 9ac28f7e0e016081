import { assertBackupId, findBackup, manifestDocument, restoreScratch } from '../../../backup/index.js';
import { InputError } from '../../../core/errors.js';
import type { CommandContext } from '../../context.js';
import { backupIdentities, openBackupStore, restoreTestHost } from '../../../core/backups.js';
import { progressPrinter } from './common.js';

/**
 * `backup restore ID --into scratch`: the scheduled restore test. Restores
 * into a throwaway database on backup.restoreTest, compares row counts with
 * the manifest, drops it, records the result; exit 1 when it fails.
 */
export async function run(ctx: CommandContext, opts: { into: string; store?: string }, [id]: string[]) {
  assertBackupId(id);
  if (opts.into !== 'scratch') {
    // A real restore (lock, safety backup, confirmation, history) belongs to the operation pipeline.
    throw new InputError(`--into ${opts.into}: only "scratch" is handled by this command`);
  }
  const ws = ctx.workspace();
  const store = await openBackupStore(ws, opts.store);
  const manifest = await findBackup(store, id);
  const target = await restoreTestHost(ws);
  const keys = manifest.encryption.algorithm === 'age' ? await backupIdentities(ws) : undefined;
  if (ctx.global.dryRun) {
    ctx.printer.info(`! skipped (dry run): restore ${id} into a scratch database on ${target.host.target.name}, compare row counts, drop it`);
    return;
  }
  const progress = progressPrinter(ctx);
  let r;
  try {
    r = await restoreScratch({ store, manifest, identities: keys, target, onProgress: progress.onProgress });
  } finally {
    progress.done();
  }
  for (const w of r.warnings) ctx.printer.warn(w);
  if (ctx.global.json) return ctx.printer.json({ ok: true, ...manifestDocument(r.manifest), restoreTest: r.verification });
  const counts = Object.entries(r.rowCounts).map(([t, n]) => `${t} ${n}`).join(', ');
  ctx.printer.out(`${id}: restored on ${target.host.target.name} into ${r.database} and dropped; row counts match (${counts})`);
}
