import { assertBackupId, findBackup, manifestDocument, restoreScratch } from '../../../backup/index.js';
import { ExitCode, type ExitCodeValue } from '../../../kernel/errors.js';
import { HostFacts } from '../../../checks/facts.js';
import { operationLogFile } from '../../../kernel/logs.js';
import { UPGRADE_STEPS, type UpgradePlan } from '../../../operations/upgrade/plan.js';
import { assertName } from '../../../kernel/validate.js';
import { executeChange, formatPlan } from '../upgrade.js';
import type { CommandContext } from '../../context.js';
import { backupIdentities, openBackupStore, requireAnsible, restoreTestHost } from '../../../targets/backups.js';
import { progressPrinter } from './common.js';

/**
 * `backup restore ID --into scratch`: the scheduled restore test. Restores
 * into a throwaway database on backup.restoreTest, compares row counts with
 * the manifest, drops it, records the result; exit 1 when it fails.
 */
export async function run(ctx: CommandContext, opts: { into: string; store?: string }, [id]: string[]) {
  assertBackupId(id);
  if (opts.into !== 'scratch') return restoreIntoEnv(ctx, opts, id);
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

/**
 * `backup restore ID --into ENV`: a real restore of a service's database,
 * through the same pipeline as an upgrade: lock, a fresh safety backup, the
 * backup restored into a NEW database (row counts checked), the app stopped,
 * names swapped (the replaced database kept), the same version deployed
 * again, verified; on failure the safety backup is put back.
 */
async function restoreIntoEnv(ctx: CommandContext, opts: { into: string; store?: string }, id: string): Promise<ExitCodeValue> {
  assertName(opts.into, '--into');
  const ws = ctx.workspace();
  const store = await openBackupStore(ws, opts.store);
  const manifest = await findBackup(store, id);
  const target = requireAnsible(await ws.target(manifest.service, opts.into), '--into');
  if (manifest.env !== opts.into) ctx.printer.warn(`backup ${id} was taken on ${manifest.service}/${manifest.env}, restoring into ${opts.into}`);
  const current = await new HostFacts(target).runningVersion();
  const plan: UpgradePlan = {
    service: target.service,
    env: target.env,
    host: target.host.name,
    from: current,
    to: current,
    notes: [],
    findings: [{ id: 'restore', level: 'warn', message: `the database of ${target.service}/${target.env} is replaced by backup ${id} (${manifest.createdAt}, version ${manifest.version ?? '?'}); data written since is not in it; the current database is kept renamed` }],
    steps: [
      ...UPGRADE_STEPS.slice(0, 3),
      { id: 'restore-db', title: `Restore ${id} into a new database, stop the app, swap names`, mutates: true },
      { id: 'apply', title: `Deploy ${current} again (migrations bring an older backup up to date)`, mutates: true },
      ...UPGRADE_STEPS.slice(4),
    ],
    restoreOnFailure: target.serviceConfig.restoreOnFailure,
  };
  const text = formatPlan(plan, undefined, (s, t) => ctx.printer.style(s, t)).replace(/^Plan: upgrade/, 'Plan: restore the database of');
  if (ctx.global.json) ctx.printer.info(text);
  else ctx.printer.out(text + '\n');
  if (ctx.global.dryRun) {
    ctx.printer.info('--dry-run: stopping after the plan; nothing was changed.');
    return ExitCode.ok;
  }
  if (!ctx.global.yes) {
    const ok = await ctx.prompter.confirm({ message: `Replace the database of ${target.service}/${target.env} with backup ${id}?`, flag: '--yes', default: false });
    if (!ok) return ExitCode.ok;
  }
  return executeChange(ctx, target, plan, operationLogFile(ctx.io.env, target.service, target.env, 'restore'), {
    operation: 'restore',
    restoreDbFrom: manifest,
    extraRecordFields: { restoredBackup: id },
  });
}
