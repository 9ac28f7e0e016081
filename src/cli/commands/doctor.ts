import { ExitCode } from '../../kernel/errors.js';
import { assertName } from '../../kernel/validate.js';
import { type DoctorReport, doctorTargets, runDoctor } from '../../operations/doctor.js';
import type { DoctorStatus } from '../../targets/doctor.js';
import type { CommandContext } from '../context.js';

const MARK: Record<DoctorStatus, { text: string; color: 'green' | 'yellow' | 'red' | 'cyan' }> = {
  ok: { text: 'ok', color: 'green' },
  warn: { text: 'WARN', color: 'yellow' },
  fail: { text: 'FAIL', color: 'red' },
  unknown: { text: 'unknown', color: 'cyan' },
};

/**
 * The report as Markdown, grouped by host (this machine first), to paste into an issue: per finding its status,
 * subject and what was found, then what coopctl assumes and what it does about it.
 */
export function renderDoctorReport(
  report: DoctorReport,
  style: (color: (typeof MARK)[DoctorStatus]['color'], text: string) => string = (_c, t) => t,
): string {
  const hosts = [...new Set(report.findings.map((f) => f.host))];
  const lines = ['# coopctl doctor'];
  for (const host of hosts) {
    lines.push('', `## ${host === 'local' ? 'this machine' : host}`);
    for (const f of report.findings.filter((x) => x.host === host)) {
      const m = MARK[f.status];
      lines.push(`- **${style(m.color, m.text)}** ${f.subject} (${f.id}): ${f.found}`);
      lines.push(`  - assumes: ${f.assumes}`);
      if (f.action) lines.push(`  - coopctl: ${f.action}`);
    }
  }
  const count = (s: DoctorStatus) => report.findings.filter((f) => f.status === s).length;
  const verdict = report.ok ? 'nothing fails' : 'something fails';
  lines.push(
    '',
    `${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail, ${count('unknown')} unknown: ${verdict}`,
  );
  return lines.join('\n');
}

/** `coopctl doctor [SERVICE] [--env ENV]`: read-only; exit 3 when an assumption fails, 2 on bad config. */
export async function run(ctx: CommandContext, opts: { env?: string }, [service]: string[]) {
  if (service) assertName(service, 'SERVICE');
  if (opts.env) assertName(opts.env, '--env');
  const ws = ctx.workspace();
  const report = await runDoctor(ws, ctx.runner, await doctorTargets(ws, { service, env: opts.env }));
  const p = ctx.printer;
  if (ctx.global.json) p.json({ ok: report.ok, findings: report.findings });
  else p.out(renderDoctorReport(report, (c, t) => p.style(c, t)));
  return report.ok ? ExitCode.ok : ExitCode.refused;
}
