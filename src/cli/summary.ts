import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../kernel/errors.js';
import { PRIVATE_FILE } from '../kernel/files.js';
import { formatDuration } from '../kernel/validate.js';
import type { ChangeOutcome, ChangePlan } from '../pipeline/change.js';

/** --summary FILE, checked before anything runs: its directory exists, it is not a directory itself. */
export function summaryFlag(file: string | undefined, cwd: string): string | undefined {
  if (file === undefined) return undefined;
  if (!file.trim()) throw new InputError('--summary: empty file name');
  const abs = path.resolve(cwd, file);
  const dir = path.dirname(abs);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InputError(`--summary: ${dir} is not an existing directory (the summary goes to ${file})`);
  }
  if (existsSync(abs) && !statSync(abs).isFile()) throw new InputError(`--summary: ${file} is not a file`);
  return abs;
}

/** The summary in a new 0600 file (a file there before is replaced, never chmod-ed after the text is in). */
export function writeSummary(file: string, text: string): void {
  rmSync(file, { force: true });
  writeFileSync(file, `${text}\n`, { mode: PRIVATE_FILE, flag: 'wx' });
}

interface Details {
  verification?: { ok: boolean; checks?: Array<{ ok: boolean; message: string }> };
  checks?: Array<{ id: string; status: string; message: string }>;
  applied?: string;
  migrationsRan?: boolean | 'unknown';
  log?: string;
  patchSet?: { digest: string; patches?: Array<{ file: string; sha256: string }> };
  promotion?: { from: string; soak: string };
}

const CHECK_MARK: Record<string, string> = { pass: '✓', warn: '!', fail: '✗' };

/** The summary's first line (without its Markdown heading mark): also the Matrix room's end notice. */
export function summaryHeadline(o: ChangeOutcome, plan: ChangePlan): string {
  const r = o.record;
  return `coopctl ${r.operation} ${r.service}/${r.env}: ${plan.from} → ${plan.to} — ${r.status}`;
}

/** The Markdown summary for the merge request (printed, and written to --summary FILE). */
export function summaryMarkdown(o: ChangeOutcome, plan: ChangePlan, warnings: string[] = []): string {
  const r = o.record;
  const d = r.details as Details;
  const dur = r.finishedAt ? formatDuration(Date.parse(r.finishedAt) - Date.parse(r.startedAt)) : '?';
  const lines = [
    `### ${summaryHeadline(o, plan)}`,
    '',
    `- **State:** ${o.state}`,
    `- host \`${plan.host}\` · operator ${r.operator} · record \`${r.id}\` · ${r.startedAt} (${dur})`,
  ];
  if (r.promotedFrom) {
    const soak = d.promotion ? ` after a soak of ${d.promotion.soak}` : '';
    lines.push(`- promoted from ${d.promotion?.from ?? '?'}: record \`${r.promotedFrom}\`${soak}`);
  }
  lines.push(`- safety backup: ${r.backupId ? `\`${r.backupId}\` (hash-checked)` : 'none'}`);
  if (d.checks?.length) {
    lines.push(`- checks: ${d.checks.map((c) => `${CHECK_MARK[c.status] ?? c.status} ${c.id}`).join(', ')}`);
  }
  if (d.verification) {
    const checks = (d.verification.checks ?? []).map((c) => `${c.ok ? '✓' : '✗'} ${c.message}`).join('; ');
    lines.push(`- verification: ${d.verification.ok ? 'healthy' : 'FAILED'} — ${checks}`);
  }
  if (d.applied) lines.push(`- applied: ${d.applied}`);
  if (d.migrationsRan !== undefined) lines.push(`- migrations ran before the failure: ${d.migrationsRan}`);
  if (d.patchSet) {
    const files = (d.patchSet.patches ?? []).map((p) => `\`${p.file}\` (sha256 ${p.sha256})`).join(', ');
    lines.push(`- patches: digest \`${d.patchSet.digest}\`${files ? `: ${files}` : ''}`);
  }
  if (plan.notes.length) {
    const link = (n: ChangePlan['notes'][number]) =>
      !n.url ? n.version : /^https?:\/\//.test(n.url) ? `[${n.version}](${n.url})` : `${n.version} (\`${n.url}\`)`;
    const notes = plan.notes.map(link);
    lines.push(`- release notes read: ${notes.join(', ')}`);
  }
  if (d.log) lines.push(`- log: \`${d.log}\``);
  for (const w of warnings) lines.push(`- warning: ${w}`);
  return lines.join('\n');
}
