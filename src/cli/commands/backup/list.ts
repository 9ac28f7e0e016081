import { listBackups, manifestDocument, verificationState, verifiedHow, type Manifest } from '../../../backup/index.js';
import { assertName, formatBytes, formatDuration } from '../../../kernel/validate.js';
import type { CommandContext } from '../../context.js';
import { table } from '../../format.js';
import { openBackupStore } from '../../../backup/configured.js';
import { listHostCopies } from '../../../backup/hostCopy.js';
import type { Workspace } from '../../../workspace/workspace.js';

function state(ctx: CommandContext, m: Manifest): string {
  const s = verificationState(m);
  if (s === 'verified') return ctx.printer.style('green', `yes (${verifiedHow(m)})`);
  if (s === 'failed') return ctx.printer.style('red', 'FAILED');
  return ctx.printer.style('yellow', 'no');
}

/**
 * Which backups taken on a host still have their on-host copy there: one look per service×env (an unreachable or
 * unconfigured one: unknown). Undefined when no backup was taken on a host (no column then).
 */
async function onHost(ws: Workspace, backups: Manifest[]): Promise<Map<string, boolean | null> | undefined> {
  const taken = backups.filter((m) => m.hostCopy);
  if (taken.length === 0) return undefined;
  const found = new Map<string, boolean | null>();
  const envs = [...new Set(taken.map((m) => `${m.service}/${m.env}`))];
  await Promise.all(
    envs.map(async (se) => {
      const [service, env] = se.split('/');
      const these = taken.filter((m) => m.service === service && m.env === env);
      let ids: string[] | null = null;
      try {
        const t = await ws.target(service, env);
        ids = await listHostCopies(t.remote, t.paths.backupDir, service, env);
      } catch {
        // not configured here, or the host does not answer: unknown
      }
      for (const m of these) found.set(m.id, ids ? ids.includes(m.id) : null);
    }),
  );
  return found;
}

function onHostCell(m: Manifest, copies: Map<string, boolean | null>): string {
  if (!m.hostCopy) return '';
  const found = copies.get(m.id);
  return found === true ? `yes (${m.hostCopy.host})` : found === false ? 'no (pruned)' : '?';
}

/** Apps coopctl does not dump (no `database:`): the snapshots their deploy tool keeps (abra's restic). */
async function toolBackups(ctx: CommandContext, service: string, envFilter?: string): Promise<boolean> {
  const ws = ctx.workspace();
  const rows: string[][] = [];
  const docs: Array<Record<string, unknown>> = [];
  for (const { env } of ws.select({ service, env: envFilter })) {
    const t = await ws.target(service, env);
    const own = t.database ? undefined : t.driver.safetyBackups?.(ws, t);
    if (!own?.list) return false;
    for (const b of await own.list(t)) {
      rows.push([b.id, service, env, b.time, b.size === undefined ? '?' : formatBytes(b.size), b.paths.join(' ')]);
      docs.push({ ...b, service, env, tool: t.driver.id });
    }
  }
  if (ctx.global.json) ctx.printer.json({ backups: docs, problems: [] });
  else if (rows.length === 0) ctx.printer.info(`no ${service} snapshots (${service} is backed up by its deploy tool)`);
  else ctx.printer.out(table(rows, ['SNAPSHOT', 'SERVICE', 'ENV', 'TIME', 'SIZE', 'PATHS']));
  return true;
}

export async function run(ctx: CommandContext, opts: { env?: string; store?: string }, [service]: string[]) {
  if (service) assertName(service, 'SERVICE');
  if (opts.env) assertName(opts.env, '--env');
  if (service && (await toolBackups(ctx, service, opts.env))) return;
  const store = await openBackupStore(ctx.workspace(), opts.store);
  const { backups, problems } = await listBackups(store, { service, env: opts.env });
  const copies = await onHost(ctx.workspace(), backups);
  const p = ctx.printer;
  if (ctx.global.json) {
    const doc = (m: Manifest) => ({ ...manifestDocument(m), ...(copies ? { onHost: copies.get(m.id) ?? false } : {}) });
    return p.json({ backups: backups.map(doc), problems });
  }
  if (backups.length === 0) p.info(`no backups in ${store.description}`);
  else {
    p.out(
      table(
        backups.map((m) => [
          m.id,
          m.service,
          m.env,
          `${formatDuration(Date.now() - Date.parse(m.createdAt))} ago`,
          formatBytes(m.size),
          m.version ?? '?',
          state(ctx, m),
          ...(copies ? [onHostCell(m, copies)] : []),
        ]),
        ['ID', 'SERVICE', 'ENV', 'AGE', 'SIZE', 'VERSION', 'VERIFIED', ...(copies ? ['ON HOST'] : [])],
      ),
    );
  }
  for (const x of problems) p.warn(`${x.key}: ${x.message}`);
}
