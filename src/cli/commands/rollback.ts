import { ExitCode, InputError, type ExitCodeValue } from '../../kernel/errors.js';
import { operationLogFile } from '../../kernel/logs.js';
import { planRollback } from '../../operations/rollback/plan.js';
import { assertName, assertVersion } from '../../kernel/validate.js';
import type { CommandContext } from '../context.js';
import { executeChange, formatPlan } from './upgrade.js';

export interface RollbackOptions {
  env: string;
  to?: string;
  restoreDb?: boolean;
  keepDb?: boolean;
}

export async function run(ctx: CommandContext, opts: RollbackOptions, [service]: string[]): Promise<ExitCodeValue> {
  assertName(service, 'SERVICE');
  assertName(opts.env, '--env');
  if (opts.to !== undefined) assertVersion(opts.to, '--to');
  if (opts.restoreDb && opts.keepDb) throw new InputError('--restore-db and --keep-db exclude each other');
  const ws = ctx.workspace();
  const target = await ws.target(service, opts.env);
  if (target.driver !== 'ansible') throw new InputError(`${service} is an abra app: use abra app rollback (coopctl does not drive it yet)`);
  const p = ctx.printer;
  const choice = await planRollback(ws, target, opts.to);
  const { plan, backup, schemaMoved, undoes } = choice;

  let restoreDb: boolean;
  if (opts.restoreDb) restoreDb = true;
  else if (opts.keepDb) restoreDb = false;
  else if (schemaMoved === false) restoreDb = false;
  else if (!backup) restoreDb = false;
  else {
    const why = schemaMoved === true ? 'the database schema changed since that backup' : 'coopctl cannot tell whether the schema changed since that backup';
    restoreDb = await ctx.prompter.confirm({ message: `${why}. Restore the database of ${backup.id} (${backup.createdAt}; later data is lost, the current database is kept renamed)?`, flag: '--restore-db or --keep-db', default: true });
  }
  if (restoreDb && !backup) throw new InputError(`--restore-db: no pre-change backup found${undoes?.backupId ? ` (${undoes.backupId} is not in the backup store)` : ''}`);
  if (!restoreDb && schemaMoved !== false) {
    plan.findings.push({ id: 'keep-db', level: 'warn', message: `keeping the current database${schemaMoved === true ? ', whose schema is newer than ' + plan.to + ' expects' : ''}` });
  }
  if (restoreDb) plan.steps = [...plan.steps.slice(0, 3), { id: 'restore-db', title: `Restore the database of ${backup!.id}, then swap (the current one is kept renamed)`, mutates: true }, ...plan.steps.slice(3)];
  const text = formatPlan(plan, undefined, (s, t) => p.style(s, t)).replace(/^Plan: upgrade/, 'Plan: roll back');
  if (ctx.global.json) p.info(text);
  else p.out(text + '\n');
  if (ctx.global.dryRun) {
    if (ctx.global.json) p.json({ ok: true, dryRun: true, plan: { from: plan.from, to: plan.to, restoreDb, backupId: backup?.id ?? null, undoes: undoes?.id ?? null } });
    else p.out('--dry-run: stopping after the plan; nothing was changed.');
    return ExitCode.ok;
  }
  if (!ctx.global.yes) {
    const ok = await ctx.prompter.confirm({ message: `Roll ${service}/${opts.env} back from ${plan.from} to ${plan.to} now?`, flag: '--yes', default: false });
    if (!ok) return ExitCode.ok;
  }
  const logFile = operationLogFile(ctx.io.env, service, opts.env, 'rollback');
  return executeChange(ctx, target, plan, logFile, {
    operation: 'rollback',
    restoreDbFrom: restoreDb ? backup : undefined,
    extraRecordFields: { undoes: undoes?.id ?? null, restoreDb },
  });
}
