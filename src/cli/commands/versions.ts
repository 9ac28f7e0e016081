import { RunView } from '../../pipeline/view.js';
import { errorMessage } from '../../kernel/errors.js';
import { assertName, printable } from '../../kernel/validate.js';
import { describeRejection, readRejections } from '../../operations/rejections.js';
import type { VersionEntry } from '../../targets/profile.js';
import type { CommandContext } from '../context.js';
import { table } from '../format.js';

interface VersionsOptions {
  env?: string;
  pre?: boolean;
  notes?: boolean;
}

interface Row extends VersionEntry {
  rejected: boolean;
  /** Why, by whom, when: set when rejected. */
  rejection?: string;
}

export async function run(ctx: CommandContext, opts: VersionsOptions, [service]: string[]) {
  assertName(service, 'SERVICE');
  if (opts.env) assertName(opts.env, '--env');
  const ws = ctx.workspace();
  const svc = ws.service(service);
  if (opts.env) ws.envOf(service, opts.env);
  const p = ctx.printer;
  // Without --env the versions are the service's, read through its first environment's settings; no host is asked.
  const views = new RunView(ws);
  const view = await views.of(service, opts.env ?? Object.keys(svc.environments)[0]);
  const target = view.target;
  let current: string | null = null;
  const warnings: string[] = [];
  if (opts.env) {
    try {
      current = await view.facts.runningVersion();
    } catch (err) {
      warnings.push(`current version unknown: ${errorMessage(err)}`);
    }
  }
  const c = await target.profile.listVersions(ws, target, {
    current: current ?? undefined,
    includePrerelease: !!opts.pre,
    notes: opts.notes ? 'newer' : 'none',
  });
  warnings.push(...c.warnings);
  const { rejected, errors } = await readRejections(views, service);
  warnings.push(...errors);
  const rows: Row[] = c.versions.map((v) => {
    const r = rejected.get(v.version);
    return { ...v, rejected: !!r, ...(r ? { rejection: describeRejection(r) } : {}) };
  });
  if (ctx.global.json) {
    const versions = rows.map(({ notes, ...r }) => ({ ...r, ...(notes ? { notes } : {}) }));
    p.json({ service, env: opts.env ?? null, current, versions, warnings });
    return;
  }
  const tags = (r: Row) =>
    [r.security ? p.style('red', 'security') : '', r.prerelease ? 'pre-release' : '', r.newer ? 'newer' : '']
      .filter(Boolean)
      .join(', ');
  p.out(
    table(
      rows.map((r) => [
        r.current ? '→' : ' ',
        r.version,
        r.series,
        r.date ?? '',
        tags(r),
        r.rejection ? p.style('red', printable(r.rejection)) : '',
      ]),
      [' ', 'VERSION', 'SERIES', 'DATE', '', 'REJECTED'],
    ),
  );
  for (const r of rows.filter((x) => x.notes)) p.out(`\n## ${r.version}\n${r.notes!.trim()}`);
  for (const w of warnings) p.warn(w);
}
