import { describeHolder, HostLock, type LockStatus } from '../history/lock.js';
import { CoopctlError, ExitCode, InterruptedError, RefusedError, type ExitCodeValue } from '../kernel/errors.js';
import { canPrompt } from '../kernel/io.js';
import { printable } from '../kernel/validate.js';
import { planDocument, planSteps, type ChangeOutcome, type ChangePlan } from '../pipeline/change.js';
import { runChange } from '../pipeline/run.js';
import { LineStageRunner, type StageRunner } from '../pipeline/stages.js';
import type { TargetView } from '../pipeline/view.js';
import type { Target } from '../targets/target.js';
import type { CommandContext } from './context.js';
import { ListrStageRunner } from './listrRunner.js';
import { changeObservers, settledAll } from './observers.js';
import { installInterruptHandler } from './signals.js';
import { summaryMarkdown, writeSummary } from './summary.js';

type Style = (s: 'bold' | 'yellow' | 'red' | 'dim', t: string) => string;

const HEADLINE: Record<ChangePlan['operation'], string> = {
  upgrade: 'upgrade',
  rollback: 'roll back',
  restore: 'restore the database of',
  promote: 'promote to',
};

/** The plan a person reads before confirming: notes, warnings, the stages (* marks those that change the host). */
export function formatPlan(
  plan: ChangePlan,
  preview: { title: string; text: string } | undefined,
  style: Style,
): string {
  const out: string[] = [];
  const where = `${plan.service}/${plan.env} on ${plan.host}`;
  out.push(style('bold', `Plan: ${HEADLINE[plan.operation]} ${where}: ${plan.from} → ${plan.to}`));
  out.push('');
  if (plan.notes.length) {
    out.push(style('bold', `Release notes of every version after ${plan.from} up to ${plan.to}:`));
    for (const n of plan.notes) {
      out.push(`## ${n.version}${n.date ? ` (${n.date})` : ''}${n.security ? ' — SECURITY' : ''}`);
      out.push(
        n.text
          .trim()
          .split('\n')
          .map((l) => `   ${l}`)
          .join('\n'),
      );
    }
    out.push('');
  }
  const warns = plan.findings.filter((f) => f.level !== 'ok');
  if (warns.length) {
    out.push(style('bold', 'Warnings:'));
    for (const f of warns) {
      const sign = f.level === 'fail' ? style('red', '✗') : style('yellow', '!');
      out.push(`  ${sign} ${printable(f.message, { lines: true })}${f.fix ? `\n      fix: ${printable(f.fix)}` : ''}`);
    }
    out.push('');
  }
  out.push(style('bold', 'Steps (* changes the host):'));
  for (const [i, s] of planSteps(plan).entries()) out.push(`  ${i + 1}. ${s.mutates ? '*' : ' '} ${s.title}`);
  const ask = plan.restoreOnFailure === 'ask' ? ' (after asking)' : '';
  out.push(
    `  on failure: ${
      plan.restoreOnFailure === 'never'
        ? 'stop and report (restoreOnFailure: never)'
        : `restore ${plan.from}, and the database from before the change if it moved so that ${plan.from} ` +
          `cannot run on it${ask}; verify again`
    }`,
  );
  if (preview) {
    out.push('');
    out.push(style('bold', `${preview.title}:`));
    const text = preview.text.trim();
    out.push(
      text
        ? text
            .split('\n')
            .map((l) => `  ${l}`)
            .join('\n')
        : '  (no output)',
    );
  }
  return out.join('\n');
}

/**
 * Prints the plan (stdout, or stderr under --json), refuses what the rules refuse, stops under --dry-run (with
 * --json: the plan's one document, planDocument).
 */
export function showPlan(ctx: CommandContext, plan: ChangePlan, text: string): boolean {
  const p = ctx.printer;
  if (ctx.global.json) p.info(text);
  else p.out(`${text}\n`);
  const refused = plan.findings.filter((f) => f.level === 'fail');
  if (refused.length) {
    throw new RefusedError(`refused: ${refused.map((f) => f.message).join('; ')}`, {
      hints: refused.flatMap((f) => (f.fix ? [f.fix] : [])),
    });
  }
  if (!ctx.global.dryRun) return true;
  if (ctx.global.json) p.json({ ok: true, dryRun: true, plan: planDocument(plan) });
  else p.out('--dry-run: stopping after the plan; nothing was changed.');
  return false;
}

/**
 * Asks about a stale lock before the task list starts: under listr's live
 * rendering a question is drawn over and never seen. The pipeline then
 * breaks that lock only (another one found by then is refused, exit 4).
 */
async function staleLockDecision(ctx: CommandContext, t: Target): Promise<LockStatus | undefined> {
  if (!ctx.prompter.interactive) return undefined;
  const asked = await new HostLock(t.remote, t.paths.stateDir, t.service, t.env).status();
  if (!asked.held || !asked.stale) return undefined;
  const ok = await ctx.prompter.confirm({
    message: `The lock is stale: ${describeHolder(asked)} — ${asked.staleReason}. Break it and continue?`,
    flag: '--force',
    default: false,
  });
  return ok ? asked : undefined;
}

/** Asks for the go-ahead unless --yes; false: not confirmed, nothing was changed. */
export async function confirmChange(ctx: CommandContext, message: string): Promise<boolean> {
  if (ctx.global.yes) return true;
  const ok = await ctx.prompter.confirm({ message, flag: '--yes', default: false });
  if (!ok) ctx.printer.info('not confirmed: nothing was changed');
  return ok;
}

/**
 * Runs a planned change through the pipeline with live progress, signal
 * handling and the final summary; maps the outcome to an exit code.
 */
export async function executeChange(
  ctx: CommandContext,
  view: TargetView,
  plan: ChangePlan,
  logFile: string,
  opts: { lockWaitMs?: number; summaryFile?: string } = {},
): Promise<ExitCodeValue> {
  const p = ctx.printer;
  const target = view.target;
  const breakStaleLock = await staleLockDecision(ctx, target);
  const interrupt = installInterruptHandler(p);
  const mode = ctx.global.json ? 'silent' : ctx.io.stderr.isTTY && !ctx.io.env.CI ? 'live' : 'lines';
  const runner: StageRunner =
    mode === 'lines' ? new LineStageRunner((l) => p.info(l)) : new ListrStageRunner(ctx.io, mode);
  const confirmRestore = canPrompt(ctx.io)
    ? () =>
        ctx.prompter.confirm({
          message:
            'The change failed. Restore the previous version (and the database, if it moved so that the previous ' +
            'version cannot run on it)?',
          flag: '--yes',
          default: true,
        })
    : undefined;
  const observers = await changeObservers(ctx.workspace(), plan);
  let outcome: ChangeOutcome;
  try {
    outcome = await runChange(plan, {
      ws: ctx.workspace(),
      target,
      view,
      runner,
      signal: interrupt.signal,
      logFile,
      lockWaitMs: opts.lockWaitMs,
      breakStaleLock,
      confirmRestore,
      observers,
    });
  } catch (err) {
    // a start notice or a silence already under way is done (the silence expired) before the error goes out
    await settledAll(observers);
    throw err;
  } finally {
    interrupt.dispose();
  }
  const warnings = await settledAll(observers);
  for (const w of warnings) p.warn(w);
  const summary = summaryMarkdown(outcome, plan, warnings);
  if (opts.summaryFile) {
    try {
      writeSummary(opts.summaryFile, summary);
    } catch (err) {
      p.warn(`--summary: could not write ${opts.summaryFile}: ${(err as Error).message}`);
    }
  }
  if (ctx.global.json)
    p.json({ ok: outcome.ok, state: outcome.state, record: outcome.record, ...(warnings.length && { warnings }) });
  else {
    p.out(`\n${printable(summary, { lines: true })}`);
    if (outcome.error && !outcome.ok)
      p.info(`\n${p.style('red', 'failed:')} ${(outcome.error as Error).message ?? outcome.error}`);
  }
  if (outcome.status === 'cancelled' || interrupt.signal.aborted) return ExitCode.interrupted;
  if (!outcome.ok && outcome.error instanceof InterruptedError) return ExitCode.interrupted;
  if (outcome.ok) return ExitCode.ok;
  // A refusal (a check, a verification) is exit 3 only while nothing changed; after a change it is a failure.
  const refused = outcome.error instanceof CoopctlError && outcome.error.exitCode === ExitCode.refused;
  return refused && !outcome.changed ? ExitCode.refused : ExitCode.failed;
}
