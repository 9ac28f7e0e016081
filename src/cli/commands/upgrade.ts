import { readFile } from 'node:fs/promises';
import { runPlaybook } from '../../drivers/ansible/playbook.js';
import { ansibleVersion } from '../../drivers/ansible/tool.js';
import { ExitCode, InputError, InterruptedError, RefusedError, type ExitCodeValue } from '../../kernel/errors.js';
import { operationLogFile } from '../../kernel/logs.js';
import { LineStageRunner, type StageRunner } from '../../pipeline/stages.js';
import { planUpgrade, readVersionChoice, type UpgradePlan, type VersionChoice } from '../../operations/upgrade/plan.js';
import type { VerificationResult } from '../../services/mastodon/verify.js';
import { MastodonUpgrade, type UpgradeDeps, type UpgradeOutcome } from '../../pipeline/change.js';
import { assertName, assertVersion, durationFlag, formatDuration } from '../../kernel/validate.js';
import type { AnsibleTarget } from '../../targets/workspace.js';
import { describeHolder, HostLock, type LockStatus } from '../../history/lock.js';
import { canPrompt } from '../../kernel/io.js';
import type { CommandContext } from '../context.js';
import { ListrStageRunner } from '../listrRunner.js';
import { installInterruptHandler } from '../signals.js';

export interface UpgradeOptions {
  env: string;
  to?: string;
  pre?: boolean;
  lockWait?: string | boolean;
  check?: boolean;
}

/** The interactive picker: sensible targets first, refused ones shown with the reason. */
async function pickVersion(ctx: CommandContext, choice: VersionChoice, pre: boolean): Promise<string> {
  const security = new Set(choice.catalog.versions.filter((v) => v.security).map((v) => v.version));
  const choices = choice.suggestions.map((s) => ({
    value: s.version,
    // inquirer prints a disabled choice's reason after its name: said once
    name: `${s.version}${security.has(s.version) ? ' [security]' : ''}${s.parsed.stable ? '' : ' [pre-release]'}${s.allowed ? ` — ${s.reason}` : ''}`,
    disabled: s.allowed ? false : `(${s.reason})`,
  }));
  if (!choices.some((c) => !c.disabled)) throw new RefusedError(`no version newer than ${choice.current} can be upgraded to${pre ? '' : ' (pre-releases hidden: --pre)'}`);
  return ctx.prompter.select({ message: `Upgrade from ${choice.current} to`, choices, flag: '--to VERSION' });
}

export function formatPlan(plan: UpgradePlan, checkDiff: string | undefined, style: (s: 'bold' | 'yellow' | 'red' | 'dim', t: string) => string): string {
  const out: string[] = [];
  out.push(style('bold', `Plan: upgrade ${plan.service}/${plan.env} on ${plan.host}: ${plan.from} → ${plan.to}`));
  out.push('');
  if (plan.notes.length) {
    out.push(style('bold', `Release notes of every version after ${plan.from} up to ${plan.to}:`));
    for (const n of plan.notes) {
      out.push(`## ${n.version}${n.date ? ` (${n.date})` : ''}${n.security ? ' — SECURITY' : ''}`);
      out.push(n.text.trim().split('\n').map((l) => `   ${l}`).join('\n'));
    }
    out.push('');
  }
  const warns = plan.findings.filter((f) => f.level !== 'ok');
  if (warns.length) {
    out.push(style('bold', 'Warnings:'));
    for (const f of warns) out.push(`  ${f.level === 'fail' ? style('red', '✗') : style('yellow', '!')} ${f.message}${f.fix ? `\n      fix: ${f.fix}` : ''}`);
    out.push('');
  }
  out.push(style('bold', 'Steps (* changes the host):'));
  plan.steps.forEach((s, i) => out.push(`  ${i + 1}. ${s.mutates ? '*' : ' '} ${s.title}`));
  out.push(`  on failure: ${plan.restoreOnFailure === 'never' ? 'stop and report (restoreOnFailure: never)' : `restore ${plan.from} and the pre-upgrade database if migrations ran${plan.restoreOnFailure === 'ask' ? ' (after asking)' : ''}, verify again`}`);
  if (checkDiff !== undefined) {
    out.push('');
    out.push(style('bold', 'ansible-playbook --check --diff (best effort: command tasks are skipped in check mode):'));
    out.push(checkDiff.trim() ? checkDiff.trim().split('\n').map((l) => `  ${l}`).join('\n') : '  (no output)');
  }
  return out.join('\n');
}

/** The interesting part of a --check --diff run: diffs, changed and failed tasks, the recap. */
function checkDiffText(log: string): string {
  const lines = log.split('\n');
  const keep: string[] = [];
  let inDiff = false;
  for (const l of lines) {
    if (/^(---|\+\+\+) (before|after)/.test(l)) inDiff = true;
    if (/^(TASK|PLAY|RUNNING HANDLER) \[/.test(l)) inDiff = false;
    if (inDiff || /^(changed|fatal|failed):|^PLAY RECAP|ok=\d+/.test(l)) keep.push(l);
  }
  return keep.join('\n');
}

export function summaryMarkdown(o: UpgradeOutcome, plan: UpgradePlan): string {
  const r = o.record;
  // What MastodonUpgrade notes in the record (see core/upgrade/run.ts).
  const d = r.details as {
    verification?: VerificationResult;
    ansible?: { ok: boolean; changedTasks: string[]; strategy: string };
    migrationsRan?: boolean | 'unknown';
    log?: string;
  };
  const dur = r.finishedAt ? formatDuration(Date.parse(r.finishedAt) - Date.parse(r.startedAt)) : '?';
  const lines = [
    `### coopctl ${r.operation} ${r.service}/${r.env}: ${plan.from} → ${plan.to} — ${r.status}`,
    '',
    `- **State:** ${o.state}`,
    `- host \`${plan.host}\` · operator ${r.operator} · record \`${r.id}\` · ${r.startedAt} (${dur})`,
    `- safety backup: ${r.backupId ? `\`${r.backupId}\` (sha256 verified)` : 'none'}`,
  ];
  if (d.verification) lines.push(`- verification: ${d.verification.ok ? 'healthy' : 'FAILED'} — ${d.verification.checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.message}`).join('; ')}`);
  if (d.ansible) lines.push(`- ansible: ${d.ansible.ok ? 'ok' : 'failed'}, changed: ${d.ansible.changedTasks.join(', ') || 'nothing'} (${d.ansible.strategy})`);
  if (d.migrationsRan !== undefined) lines.push(`- migrations ran before the failure: ${d.migrationsRan}`);
  if (plan.notes.length) lines.push(`- release notes read: ${plan.notes.map((n) => n.version).join(', ')}`);
  if (d.log) lines.push(`- log: \`${d.log}\``);
  return lines.join('\n');
}

/**
 * Asks about a stale lock before the task list starts: under listr's live
 * rendering a question is drawn over and never seen. The pipeline then
 * breaks that lock only (another one found by then is refused, exit 4).
 */
async function staleLockDecision(ctx: CommandContext, target: AnsibleTarget): Promise<((s: LockStatus) => Promise<boolean>) | undefined> {
  if (!ctx.prompter.interactive) return undefined;
  const asked = await new HostLock(target.remote, target.paths.stateDir, target.service, target.env).status();
  if (!asked.held || !asked.stale) return undefined;
  const ok = await ctx.prompter.confirm({ message: `The lock is stale: ${describeHolder(asked)} — ${asked.staleReason}. Break it and continue?`, flag: '--force', default: false });
  return ok ? async (found) => found.info?.id === asked.info?.id : undefined;
}

/**
 * Runs a planned change (upgrade, rollback) through the pipeline with live
 * progress, signal handling and the final summary; maps the outcome to an
 * exit code.
 */
export async function executeChange(ctx: CommandContext, target: AnsibleTarget, plan: UpgradePlan, logFile: string, extra: Partial<UpgradeDeps>): Promise<ExitCodeValue> {
  const p = ctx.printer;
  const ws = ctx.workspace();
  const breakStaleLock = await staleLockDecision(ctx, target);
  const interrupt = installInterruptHandler(p);
  const mode = ctx.global.json ? 'silent' : ctx.io.stderr.isTTY && !ctx.io.env.CI ? 'live' : 'lines';
  const stages: StageRunner = mode === 'lines' ? new LineStageRunner((l) => p.info(l)) : new ListrStageRunner(ctx.io, mode);
  let outcome: UpgradeOutcome;
  try {
    outcome = await new MastodonUpgrade(
      {
        ws,
        target,
        stages,
        signal: interrupt.signal,
        logFile,
        breakStaleLock,
        confirmRestore: canPrompt(ctx.io) ? () => ctx.prompter.confirm({ message: 'The change failed. Restore the previous version (and database if migrations ran)?', flag: '--yes', default: true }) : undefined,
        ...extra,
      },
      plan,
    ).execute();
  } finally {
    interrupt.dispose();
  }
  if (ctx.global.json) p.json({ ok: outcome.ok, state: outcome.state, record: outcome.record });
  else {
    p.out('\n' + summaryMarkdown(outcome, plan));
    if (outcome.error && !outcome.ok) p.info(`\n${p.style('red', 'failed:')} ${(outcome.error as Error).message ?? outcome.error}`);
  }
  if (outcome.status === 'cancelled' || interrupt.signal.aborted) return ExitCode.interrupted;
  if (!outcome.ok && outcome.error instanceof InterruptedError) return ExitCode.interrupted;
  return outcome.ok ? ExitCode.ok : ExitCode.failed;
}

export async function run(ctx: CommandContext, opts: UpgradeOptions, [service]: string[]): Promise<ExitCodeValue> {
  assertName(service, 'SERVICE');
  assertName(opts.env, '--env');
  if (opts.to !== undefined) assertVersion(opts.to, '--to');
  const lockWaitMs = opts.lockWait === undefined || opts.lockWait === false ? 0 : opts.lockWait === true ? 10 * 60_000 : durationFlag(opts.lockWait, '--lock-wait');
  const ws = ctx.workspace();
  const target = await ws.target(service, opts.env);
  if (target.driver !== 'ansible') throw new InputError(`${service} is an abra app: upgrading abra apps is not available in this version yet (use abra app upgrade)`);
  const p = ctx.printer;
  const style = (s: 'bold' | 'yellow' | 'red' | 'dim', t: string) => p.style(s, t);

  const choice = await readVersionChoice(ws, target, !!opts.pre);
  let to = opts.to;
  if (!to) {
    if (!ctx.prompter.interactive) throw new InputError(`no target version: pass --to VERSION (the host runs ${choice.current}; newest: ${choice.suggestions[0]?.version ?? 'none'})`);
    to = await pickVersion(ctx, choice, !!opts.pre);
  }
  const plan = await planUpgrade(ws, target, choice, to, !!opts.pre);
  const logFile = operationLogFile(ctx.io.env, service, opts.env, 'upgrade');

  // Best effort, read-only: the playbook in check mode with diffs.
  let checkDiff: string | undefined;
  if (opts.check !== false && !plan.findings.some((f) => f.level === 'fail')) {
    const checkLog = logFile.replace(/\.log$/, '.check.log');
    const r = await runPlaybook(ctx.runner, {
      playbook: ws.loaded.resolvePath(target.serviceConfig.playbook),
      inventory: ws.loaded.resolvePath(target.envConfig.inventory),
      limit: [target.host.name],
      extraVars: { mastodon_version: to },
      check: true,
      diff: true,
      logFile: checkLog,
      mitogen: true,
      ansibleVersion: await ansibleVersion(ctx.runner).catch(() => undefined),
    }).catch((err: Error) => ({ ok: false, logFile: checkLog, error: err }));
    checkDiff = checkDiffText(await readFile(r.logFile, 'utf8').catch(() => '')) + (r.ok ? '' : '\n(the check run did not complete; see the log)');
  }
  const planText = formatPlan(plan, checkDiff, style);
  if (ctx.global.json) p.info(planText);
  else p.out(planText + '\n');

  const refused = plan.findings.filter((f) => f.level === 'fail');
  if (refused.length) throw new RefusedError(`refused: ${refused.map((f) => f.message).join('; ')}`, { hints: refused.flatMap((f) => (f.fix ? [f.fix] : [])) });
  if (ctx.global.dryRun) {
    if (ctx.global.json) p.json({ ok: true, dryRun: true, plan: { ...plan, notes: plan.notes.map((n) => ({ version: n.version, security: n.security, text: n.text })) } });
    else p.out('--dry-run: stopping after the plan; nothing was changed.');
    return ExitCode.ok;
  }
  if (!ctx.global.yes) {
    const ok = await ctx.prompter.confirm({ message: `Upgrade ${service}/${opts.env} from ${plan.from} to ${plan.to} now?`, flag: '--yes', default: false });
    if (!ok) {
      p.info('not confirmed: nothing was changed');
      return ExitCode.ok;
    }
  }

  return executeChange(ctx, target as AnsibleTarget, plan, logFile, { lockWaitMs });
}
