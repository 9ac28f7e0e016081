import { databaseSizes, latestBackup, listBackups } from '../../backup/catalog.js';
import { sparkline } from '../../backup/growth.js';
import { judgeFreshness, type FreshnessOf } from '../../backup/freshness.js';
import { isScheduled, scheduledPairs } from '../../operations/schedule.js';
import type { BackupStore } from '../../backup/store/types.js';
import { openBackupStore } from '../../backup/configured.js';
import type { Target } from '../../targets/target.js';
import { type Capacity, collectStatus, type StatusRow } from '../../operations/status.js';
import { assertName, formatBytes, formatDuration, printable } from '../../kernel/validate.js';
import type { CommandContext } from '../context.js';
import { table } from '../format.js';

function age(iso: string): string {
  return `${formatDuration(Date.now() - Date.parse(iso))} ago`;
}

function lockText(r: StatusRow): string {
  if (!r.lock) return '?';
  if (!r.lock.held) return '-';
  const since = r.lock.since ? ` (${age(r.lock.since)})` : '';
  return `${r.lock.stale ? 'STALE ' : ''}${printable(r.lock.holder ?? '?')}${since}`;
}

/** The newest backups whose database sizes give the growth: a month of nightly ones. */
const CAPACITY_BACKUPS = 30;

function capacityColumns(c: Capacity): string[] {
  const perDay = c.growthBytesPerDay;
  return [
    `${sparkline(c.sizes)} ${formatBytes(c.sizes.at(-1)!)} (${c.sizes.length} since ${c.since.slice(0, 10)})`,
    perDay === null ? '?' : `${perDay < 0 ? '-' : '+'}${formatBytes(Math.abs(perDay))}/day`,
    formatBytes(c.diskFreeBytes),
    c.fillsAt ? c.fillsAt.slice(0, 10) : 'not growing',
  ];
}

/** A scheduled target's newest backup and restore test, against the schedule's period + grace. */
function freshnessNotes(r: StatusRow, style: (c: 'red' | 'green', t: string) => string): string[] {
  const line = (what: string, f: FreshnessOf) => {
    const seen = f.at ? `${what} ${age(f.at)}` : `no ${what}`;
    const verdict = f.stale ? style('red', 'STALE') : style('green', 'fresh');
    return `${r.service}/${r.env}: ${seen}: ${verdict} (schedule allows ${formatDuration(f.limitMs)})`;
  };
  return [line('backup', r.freshness!.backup), line('restore test', r.freshness!.restoreTest)];
}

export async function run(ctx: CommandContext, opts: { env?: string }, [service]: string[]) {
  if (service) assertName(service, 'SERVICE');
  if (opts.env) assertName(opts.env, '--env');
  const ws = ctx.workspace();
  // Opened once and only if asked for: an S3 store resolves its credentials on first use.
  let store: Promise<BackupStore> | undefined;
  const lastBackup = async (t: Target) => {
    if (!t.database) return null;
    store ??= openBackupStore(ws);
    return latestBackup(await store, t.service, t.env);
  };
  const backupSizes = async (t: Target) => {
    if (!t.database) return null;
    store ??= openBackupStore(ws);
    return databaseSizes(await store, t.service, t.env, CAPACITY_BACKUPS);
  };
  const schedule = ws.config.schedule;
  const pairs = scheduledPairs(ws);
  const freshness = async (t: Target) => {
    if (!schedule || !isScheduled(schedule, pairs, t)) return null;
    store ??= openBackupStore(ws);
    return judgeFreshness((await listBackups(await store, t)).backups, schedule);
  };
  const rows = await collectStatus(ws, { service, env: opts.env }, { lastBackup, backupSizes, freshness });
  const p = ctx.printer;
  if (ctx.global.json) {
    p.json({
      services: rows.map((r) => ({
        service: r.service,
        env: r.env,
        driver: r.driver,
        host: r.host,
        reachable: r.reachable,
        version: r.version,
        chaos: r.chaos,
        latest: r.latest,
        behind: r.behind,
        securityUpdate: r.securityUpdate,
        securityReleases: r.securityReleases,
        healthy: r.healthy,
        latencyMs: r.latencyMs,
        lock: r.lock,
        lastBackup: r.lastBackup,
        freshness: r.freshness,
        drift: r.drift,
        rejected: r.rejected,
        capacity: r.capacity && {
          sizes: r.capacity.sizes,
          growthBytesPerDay: r.capacity.growthBytesPerDay,
          diskFreeBytes: r.capacity.diskFreeBytes,
          fillsAt: r.capacity.fillsAt,
        },
        errors: r.errors,
      })),
    });
    return;
  }
  const health = (r: StatusRow) =>
    r.healthy === null ? '?' : r.healthy ? p.style('green', `up ${r.latencyMs ?? '?'}ms`) : p.style('red', 'DOWN');
  const latest = (r: StatusRow) => {
    if (!r.latest) return '?';
    if (!r.version) return r.latest;
    if (!r.behind) return p.style('green', `${r.latest} (current)`);
    return r.securityUpdate
      ? p.style('red', `${r.latest} (security: ${r.securityReleases.join(', ')})`)
      : p.style('yellow', r.latest);
  };
  p.out(
    table(
      rows.map((r) => [
        r.service,
        r.env,
        r.driver,
        r.reachable ? r.host : p.style('red', `${r.host} UNREACHABLE`),
        r.chaos ? p.style('yellow', `${r.version ?? '?'} (chaos: ${r.chaos})`) : (r.version ?? '?'),
        latest(r),
        health(r),
        lockText(r),
        `${r.lastBackup ? `${age(r.lastBackup.createdAt)} (${r.lastBackup.verifiedHow ?? 'unverified'})` : '-'}${
          r.freshness?.backup.stale || r.freshness?.restoreTest.stale ? ` ${p.style('red', 'STALE')}` : ''
        }`,
      ]),
      ['SERVICE', 'ENV', 'DRIVER', 'HOST', 'VERSION', 'LATEST', 'HEALTH', 'LOCK', 'LAST BACKUP'],
    ),
  );
  const capacity = rows.filter((r) => r.capacity).map((r) => [r.service, r.env, ...capacityColumns(r.capacity!)]);
  if (capacity.length) {
    p.out(`\n${table(capacity, ['SERVICE', 'ENV', 'DATABASE (BACKUPS)', 'GROWTH', 'DISK FREE', 'FULL AT THIS RATE'])}`);
  }
  const notes = rows.flatMap((r) => [
    ...(r.drift ? [`${r.service}: drift: ${r.drift}`] : []),
    ...(r.rejected ? [`${r.service}/${r.env}: runs ${r.version}, which is ${printable(r.rejected)}`] : []),
    ...(r.securityUpdate
      ? [`${r.service}/${r.env}: runs ${r.version}; security releases since: ${r.securityReleases.join(', ')}`]
      : []),
    ...(r.freshness ? freshnessNotes(r, p.style.bind(p)) : []),
    ...r.errors.map((e) => `${r.service}/${r.env}: ${e}`),
  ]);
  if (notes.length) p.out(`\n${notes.join('\n')}`);
}
