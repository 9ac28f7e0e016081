import { HostFacts } from '../../checks/facts.js';
import { errorMessage } from '../../kernel/errors.js';
import { assertName } from '../../kernel/validate.js';
import { listMastodonVersions } from '../../services/mastodon/catalog.js';
import { compareRecipeVersions, parseRecipeVersion, isOrdered } from '../../drivers/abra/recipeVersion.js';
import type { CommandContext } from '../context.js';
import { table } from '../format.js';

export interface VersionsOptions {
  env?: string;
  pre?: boolean;
  notes?: boolean;
}

interface Row {
  version: string;
  series: string;
  prerelease: boolean;
  security: boolean;
  rejected: boolean;
  current: boolean;
  newer: boolean;
  date?: string;
  notes?: string;
}

export async function run(ctx: CommandContext, opts: VersionsOptions, [service]: string[]) {
  assertName(service, 'SERVICE');
  if (opts.env) assertName(opts.env, '--env');
  const ws = ctx.workspace();
  const svc = ws.service(service);
  if (opts.env) ws.envOf(service, opts.env);
  const p = ctx.printer;
  let current: string | null = null;
  let rows: Row[];
  const warnings: string[] = [];
  if (svc.driver === 'ansible') {
    if (opts.env) {
      try {
        current = await new HostFacts(await ws.target(service, opts.env)).runningVersion();
      } catch (err) {
        warnings.push(`current version unknown: ${errorMessage(err)}`);
      }
    }
    const c = await listMastodonVersions({ runner: ws.runner, url: ws.gitUrl(svc.versions.url), current: current ?? undefined, includePrerelease: !!opts.pre, notes: opts.notes ? 'newer' : 'none' });
    warnings.push(...c.warnings);
    rows = c.versions.map((v) => ({
      version: v.version, series: v.series, prerelease: v.prerelease, security: v.security, rejected: false, current: v.isCurrent, newer: v.newer,
      date: v.date, notes: v.notes?.text,
    }));
  } else {
    const abra = ws.abra();
    if (opts.env) {
      const { server, domain } = svc.environments[opts.env];
      try {
        current = (await abra.listApps(server)).find((a) => a.domain === domain)?.version ?? null;
      } catch (err) {
        warnings.push(`current version unknown: ${errorMessage(err)}`);
      }
    }
    const releases = await abra.recipeVersions(svc.recipe);
    const cur = current ? parseRecipeVersion(current) : undefined;
    const notes = opts.notes && current ? await abra.releaseNotes(svc.recipe, current, releases.at(-1)?.version ?? current) : [];
    rows = [...releases].reverse().map((r) => {
      const newer = cur !== undefined && isOrdered(cur) ? compareRecipeVersions(r.parsed, cur) > 0 : false;
      return {
        version: r.version, series: r.parsed.kind === 'release' ? r.parsed.semver.split('.')[0] : '', prerelease: false, security: false, rejected: false,
        current: r.version === current, newer, date: r.date, notes: notes.find((n) => n.version === r.version)?.notes,
      };
    });
  }
  if (ctx.global.json) {
    p.json({ service, env: opts.env ?? null, current, versions: rows.map(({ notes, ...r }) => ({ ...r, ...(notes ? { notes } : {}) })), warnings });
    return;
  }
  p.out(
    table(
      rows.map((r) => [
        r.current ? '→' : ' ', r.version, r.series, r.date ?? '', [r.security ? p.style('red', 'security') : '', r.prerelease ? 'pre-release' : '', r.newer ? 'newer' : ''].filter(Boolean).join(', '),
      ]),
      [' ', 'VERSION', 'SERIES', 'DATE', ''],
    ),
  );
  for (const r of rows.filter((x) => x.notes)) p.out(`\n## ${r.version}\n${r.notes!.trim()}`);
  for (const w of warnings) p.warn(w);
}
