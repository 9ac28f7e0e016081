import { assertBackupId, findBackup } from '../../../backup/index.js';
import { ExitCode, InputError, type ExitCodeValue } from '../../../kernel/errors.js';
import { operationLogFile } from '../../../kernel/logs.js';
import { assertName } from '../../../kernel/validate.js';
import { planRestore } from '../../../operations/restore.js';
import { openBackupStore } from '../../../backup/configured.js';
import { backupSource } from '../../../targets/backupSource.js';
import { RunView } from '../../../pipeline/view.js';
import { confirmChange, executeChange, formatPlan, showPlan } from '../../change.js';
import type { CommandContext } from '../../context.js';
import { summaryFlag } from '../../summary.js';
import { restoreTest } from './common.js';

/** `backup restore ID --into scratch` (the restore test, in common.ts) or `--into ENV`. */
interface RestoreOptions {
  into: string;
  store?: string;
  fromOtherEnv?: boolean;
  summary?: string;
}

export async function run(ctx: CommandContext, opts: RestoreOptions, [id]: string[]) {
  assertBackupId(id);
  if (opts.summary !== undefined && opts.into === 'scratch') {
    throw new InputError('--summary: only with --into ENV (the restore test leaves no change to summarize)');
  }
  if (opts.into !== 'scratch') return restoreIntoEnv(ctx, opts, id);
  return restoreTest(ctx, id, opts.store);
}

/**
 * `backup restore ID --into ENV`: a real restore of a service's database,
 * through the same pipeline as an upgrade: lock, a fresh safety backup, the
 * backup restored into a NEW database (row counts checked), the app stopped,
 * names swapped (the replaced database kept), the same version deployed
 * again, verified; on failure the safety backup is put back.
 */
async function restoreIntoEnv(ctx: CommandContext, opts: RestoreOptions, id: string): Promise<ExitCodeValue> {
  assertName(opts.into, '--into');
  const summaryFile = summaryFlag(opts.summary, ctx.cwd);
  const ws = ctx.workspace();
  const store = await openBackupStore(ws, opts.store);
  const manifest = await findBackup(store, id);
  if (manifest.env !== opts.into && !opts.fromOtherEnv) {
    throw new InputError(
      `backup ${id} is of ${manifest.service}/${manifest.env}, not ${opts.into}: ` +
        `restoring another environment's data needs --from-other-env`,
    );
  }
  const view = await new RunView(ws).of(manifest.service, opts.into);
  const target = view.target;
  backupSource(target); // a service whose database coopctl dumps, or a clear error
  if (manifest.env !== opts.into) {
    ctx.printer.warn(`backup ${id} was taken on ${manifest.service}/${manifest.env}, restoring into ${opts.into}`);
  }
  const plan = await planRestore(view, manifest, opts.store);
  const text = formatPlan(plan, undefined, (s, t) => ctx.printer.style(s, t));
  if (!showPlan(ctx, plan, text)) return ExitCode.ok;
  if (!(await confirmChange(ctx, `Replace the database of ${target.service}/${target.env} with backup ${id}?`)))
    return ExitCode.ok;
  const logFile = operationLogFile(ctx.io.env, target.service, target.env, 'restore');
  return executeChange(ctx, view, plan, logFile, { summaryFile });
}
