import { ExitCode, InputError, RefusedError, type ExitCodeValue } from '../../kernel/errors.js';
import { operationLogFile } from '../../kernel/logs.js';
import { assertName, assertVersion, durationFlag, printable } from '../../kernel/validate.js';
import { planUpgrade } from '../../operations/upgrade.js';
import { markRejected, readRejections, rejectionFindings } from '../../operations/rejections.js';
import { RunView } from '../../pipeline/view.js';
import type { VersionChoice } from '../../targets/profile.js';
import { confirmChange, executeChange, formatPlan, showPlan } from '../change.js';
import type { CommandContext } from '../context.js';
import { summaryFlag } from '../summary.js';

interface UpgradeOptions {
  env: string;
  to?: string;
  pre?: boolean;
  lockWait?: string | boolean;
  check?: boolean;
  summary?: string;
  fromChaos?: boolean;
}

/** The interactive picker: sensible targets first, refused ones shown with the reason. */
async function pickVersion(ctx: CommandContext, choice: VersionChoice, pre: boolean): Promise<string> {
  const choices = choice.suggestions.map((s) => ({
    value: s.version,
    // inquirer prints a disabled choice's reason after its name: said once
    name:
      `${s.version}${s.security ? ' [security]' : ''}` +
      `${s.prerelease ? ' [pre-release]' : ''}${s.allowed ? ` — ${printable(s.reason)}` : ''}`,
    disabled: s.allowed ? false : `(${printable(s.reason)})`,
  }));
  if (!choices.some((c) => !c.disabled)) {
    throw new RefusedError(
      `no version newer than ${choice.current} can be upgraded to${pre ? '' : ' (pre-releases hidden: --pre)'}`,
    );
  }
  return ctx.prompter.select({ message: `Upgrade from ${choice.current} to`, choices, flag: '--to VERSION' });
}

function lockWaitMs(value: string | boolean | undefined): number {
  if (value === undefined || value === false) return 0;
  return value === true ? 10 * 60_000 : durationFlag(value, '--lock-wait');
}

export async function run(ctx: CommandContext, opts: UpgradeOptions, [service]: string[]): Promise<ExitCodeValue> {
  assertName(service, 'SERVICE');
  assertName(opts.env, '--env');
  if (opts.to !== undefined) assertVersion(opts.to, '--to');
  const waitMs = lockWaitMs(opts.lockWait);
  const summaryFile = summaryFlag(opts.summary, ctx.cwd);
  const ws = ctx.workspace();
  const views = new RunView(ws);
  const view = await views.of(service, opts.env);
  const target = view.target;

  const { rejected, errors } = await readRejections(views, service);
  for (const e of errors) ctx.printer.warn(e);
  const choice = markRejected(await view.versionChoice(!!opts.pre), rejected);
  let to = opts.to;
  if (!to && choice.suggestions.length === 0) {
    const hidden = opts.pre ? '' : ' (pre-releases hidden: --pre)';
    const message = `${service}/${opts.env} is up to date: it runs ${choice.current}, nothing newer${hidden}`;
    if (ctx.global.json)
      ctx.printer.json({ ok: true, upToDate: true, service, env: opts.env, current: choice.current });
    else ctx.printer.out(message);
    return ExitCode.ok;
  }
  if (!to) {
    if (!ctx.prompter.interactive) {
      const newest = choice.suggestions[0]?.version ?? 'none';
      throw new InputError(`no target version: pass --to VERSION (the host runs ${choice.current}; newest: ${newest})`);
    }
    to = await pickVersion(ctx, choice, !!opts.pre);
  }
  const upgrade = await planUpgrade(view, choice, to, !!opts.pre, !!opts.fromChaos);
  const plan = { ...upgrade, findings: [...rejectionFindings(service, to, rejected), ...upgrade.findings] };
  const logFile = operationLogFile(ctx.io.env, service, opts.env, 'upgrade');

  // Best effort, read-only: the deploy tool's own preview (ansible-playbook --check --diff).
  const d = target.driver;
  let preview: { title: string; text: string } | undefined;
  if (opts.check !== false && d.preview && !plan.findings.some((f) => f.level === 'fail')) {
    const text = await d.preview(ws, target, {
      version: to,
      ...target.profile.deployInput(to, plan.patches),
      logFile,
    });
    preview = { title: d.previewTitle ?? 'preview', text };
  }
  const text = formatPlan(plan, preview, (s, t) => ctx.printer.style(s, t));
  if (!showPlan(ctx, plan, text)) return ExitCode.ok;
  if (!(await confirmChange(ctx, `Upgrade ${service}/${opts.env} from ${plan.from} to ${plan.to} now?`)))
    return ExitCode.ok;
  return executeChange(ctx, view, plan, logFile, { lockWaitMs: waitMs, summaryFile });
}
