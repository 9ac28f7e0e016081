import { ExitCode, type ExitCodeValue } from '../../kernel/errors.js';
import { operationLogFile } from '../../kernel/logs.js';
import { assertName, durationFlag } from '../../kernel/validate.js';
import { choosePromotion, planPromote, promotionStep, soakOf } from '../../operations/promote.js';
import { readRejections } from '../../operations/rejections.js';
import { RunView } from '../../pipeline/view.js';
import { confirmChange, executeChange, formatPlan, showPlan } from '../change.js';
import type { CommandContext } from '../context.js';
import { summaryFlag } from '../summary.js';

interface PromoteOptions {
  from?: string;
  to?: string;
  soak?: string;
  fromChaos?: boolean;
  summary?: string;
}

export async function run(ctx: CommandContext, opts: PromoteOptions, [service]: string[]): Promise<ExitCodeValue> {
  assertName(service, 'SERVICE');
  if (opts.from !== undefined) assertName(opts.from, '--from');
  if (opts.to !== undefined) assertName(opts.to, '--to');
  const soakFlag = opts.soak === undefined ? undefined : durationFlag(opts.soak, '--soak', 'span');
  const summaryFile = summaryFlag(opts.summary, ctx.cwd);
  const ws = ctx.workspace();
  const step = promotionStep(service, ws.service(service), opts);
  const views = new RunView(ws);
  const [source, target] = await Promise.all([views.of(service, step.from), views.of(service, step.to)]);
  const { rejected, errors } = await readRejections(views, service);
  for (const e of errors) ctx.printer.warn(e);
  const soakMs = soakOf(ws.service(service), soakFlag);
  const choice = await choosePromotion(source, target, { soakMs, rejected });
  const plan = await planPromote(target, source, choice, !!opts.fromChaos);
  const text = formatPlan(plan, undefined, (s, t) => ctx.printer.style(s, t));
  if (!showPlan(ctx, plan, text)) return ExitCode.ok;
  const question = `Promote ${service} ${choice.version} from ${step.from} to ${step.to} (now ${plan.from})?`;
  if (!(await confirmChange(ctx, question))) return ExitCode.ok;
  const logFile = operationLogFile(ctx.io.env, service, step.to, 'promote');
  return executeChange(ctx, target, plan, logFile, { summaryFile });
}
