import { ExitCode, InputError, type ExitCodeValue } from '../../kernel/errors.js';
import { operationLogFile } from '../../kernel/logs.js';
import { assertName, assertVersion } from '../../kernel/validate.js';
import { chooseRollback, planRollback, type RollbackChoice } from '../../operations/rollback.js';
import { RunView } from '../../pipeline/view.js';
import { confirmChange, executeChange, formatPlan, showPlan } from '../change.js';
import type { CommandContext } from '../context.js';
import { summaryFlag } from '../summary.js';

interface RollbackOptions {
  env: string;
  to?: string;
  restoreDb?: boolean;
  keepDb?: boolean;
  summary?: string;
}

/**
 * --restore-db / --keep-db, or asked when the schema moved (or cannot be told) and a backup exists; not asked when
 * the older version runs on the schema as it is (only pre-deployment migrations ran since).
 */
async function decideRestoreDb(ctx: CommandContext, opts: RollbackOptions, c: RollbackChoice): Promise<boolean> {
  if (opts.restoreDb) return true;
  if (opts.keepDb || c.schemaMoved === false || c.schemaFits) return false;
  if (!c.backup) {
    // Older code on a newer schema is never chosen silently: only --keep-db says so.
    const why =
      c.schemaMoved === true ? 'the schema changed since' : 'coopctl cannot tell whether the schema changed since';
    throw new InputError(
      `${c.to} may not run on this database (${why} ${c.undoes?.id ?? 'that version ran'}) and there is no ` +
        `pre-change backup to restore: pass --keep-db to go back anyway`,
    );
  }
  const why =
    c.schemaMoved === true
      ? 'the database schema changed since that backup'
      : 'coopctl cannot tell whether the schema changed since that backup';
  return ctx.prompter.confirm({
    message:
      `${why}. Restore the database of ${c.backup.id} (${c.backup.createdAt}; ` +
      'later data is lost, the current database is kept renamed)?',
    flag: '--restore-db or --keep-db',
    default: true,
  });
}

export async function run(ctx: CommandContext, opts: RollbackOptions, [service]: string[]): Promise<ExitCodeValue> {
  assertName(service, 'SERVICE');
  assertName(opts.env, '--env');
  if (opts.to !== undefined) assertVersion(opts.to, '--to');
  const summaryFile = summaryFlag(opts.summary, ctx.cwd);
  const view = await new RunView(ctx.workspace()).of(service, opts.env);
  const choice = await chooseRollback(view, opts.to);
  const restoreDb = await decideRestoreDb(ctx, opts, choice);
  if (restoreDb && !choice.backup) {
    const missing = choice.undoes?.backupId ? ` (${choice.undoes.backupId} is not in the backup store)` : '';
    throw new InputError(`--restore-db: no pre-change backup found${missing}`);
  }
  const plan = planRollback(view, choice, restoreDb);
  const text = formatPlan(plan, undefined, (s, t) => ctx.printer.style(s, t));
  if (!showPlan(ctx, plan, text)) return ExitCode.ok;
  if (!(await confirmChange(ctx, `Roll ${service}/${opts.env} back from ${plan.from} to ${plan.to} now?`)))
    return ExitCode.ok;
  const logFile = operationLogFile(ctx.io.env, service, opts.env, 'rollback');
  return executeChange(ctx, view, plan, logFile, { summaryFile });
}
