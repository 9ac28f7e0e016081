import type { LastBackup } from '../backup/catalog.js';
import { fillsAt, growthPerDay, type SizePoint } from '../backup/growth.js';
import { parseDf } from '../checks/disk.js';
import type { Freshness } from '../backup/freshness.js';
import { HostLock, type LockStatus } from '../history/lock.js';
import { settleLimit } from '../kernel/concurrency.js';
import { errorMessage } from '../kernel/errors.js';
import { Memo } from '../kernel/memo.js';
import { SudoRefusedError } from '../remote/become.js';
import type { Rejection } from '../history/rejections.js';
import { describeRejection, readRejections } from './rejections.js';
import { RunView } from '../pipeline/view.js';
import type { Target } from '../targets/target.js';
import type { Workspace } from '../workspace/workspace.js';

export interface StatusRow {
  service: string;
  env: string;
  driver: string;
  host: string;
  reachable: boolean;
  version: string | null;
  /** Not a release: the checkout the deploy came from (abra's chaos deploy). */
  chaos: string | null;
  latest: string | null;
  /** A newer stable version is a security release. */
  securityUpdate: boolean;
  /** The newer stable versions that are security releases, newest first. */
  securityReleases: string[];
  behind: boolean;
  healthy: boolean | null;
  latencyMs: number | null;
  lock: { held: boolean; holder: string | null; since: string | null; stale: boolean } | null;
  lastBackup: LastBackup | null;
  /** With `schedule:`, for a scheduled target: its newest backup and restore test against the schedule. */
  freshness: Freshness | null;
  drift: string | null;
  /** The running version is rejected: why, by whom. */
  rejected: string | null;
  /** The database's growth from its backups and when, at that rate, its disk fills; null without backups. */
  capacity: Capacity | null;
  errors: string[];
}

export type Capacity = NonNullable<Awaited<ReturnType<typeof readCapacity>>>;

type LastBackupLookup = (t: Target) => Promise<LastBackup | null>;
/** The database sizes of its newest backups, oldest first; null when it has no database coopctl backs up. */
type SizesLookup = (t: Target) => Promise<SizePoint[] | null>;
type FreshnessLookup = (t: Target) => Promise<Freshness | null>;

function lockSummary(s: LockStatus): StatusRow['lock'] {
  return { held: s.held, holder: s.holder, since: s.since, stale: s.stale };
}

/** What status reads of the backup store, when it is asked to (each optional: a row without it says nothing). */
interface StatusLookups {
  lastBackup?: LastBackupLookup;
  backupSizes?: SizesLookup;
  freshness?: FreshnessLookup;
}

/** Live status of every selected service × environment, read in parallel; a broken host is a row, not a crash. */
export async function collectStatus(
  ws: Workspace,
  filter: { service?: string; env?: string },
  { lastBackup, backupSizes, freshness }: StatusLookups = {},
): Promise<StatusRow[]> {
  const selected = ws.select(filter);
  const freeSpace = new Memo();
  const results = await settleLimit(selected, ws.config.ssh.parallel, async ({ service, env }): Promise<StatusRow> => {
    const t = await ws.target(service, env);
    const row = emptyRow(service, env, t.driver.id, t.host.name);
    const lock = new HostLock(t.remote, t.paths.stateDir, service, env).status().then(
      (s) => void (row.lock = lockSummary(s)),
      (err) => {
        if (!(err instanceof SudoRefusedError)) row.reachable = false;
        row.errors.push(errorMessage(err));
      },
    );
    const backup = (lastBackup ? lastBackup(t) : Promise.resolve(null)).then(
      (b) => void (row.lastBackup = b),
      (err) => void row.errors.push(`backups: ${errorMessage(err)}`),
    );
    const fresh = (freshness ? freshness(t) : Promise.resolve(null)).then(
      (f) => void (row.freshness = f),
      (err) => void row.errors.push(`freshness: ${errorMessage(err)}`),
    );
    const health = t.profile.health(t).then((h) => {
      if (!h) return;
      row.healthy = h.healthy;
      row.latencyMs = h.latencyMs;
      if (h.error) row.errors.push(h.error);
    });
    const versions = t.profile.versionStatus(ws, t).then((v) => {
      Object.assign(row, {
        version: v.version,
        chaos: v.chaos ?? null,
        latest: v.latest,
        behind: v.behind,
        securityReleases: v.securityReleases,
      });
      row.securityUpdate = v.securityReleases.length > 0;
      row.errors.push(...v.errors);
    });
    const capacity = (backupSizes ? readCapacity(t, backupSizes, freeSpace) : Promise.resolve(null)).then(
      (c) => void (row.capacity = c),
      (err) => void row.errors.push(`capacity: ${errorMessage(err)}`),
    );
    await Promise.all([lock, backup, fresh, health, versions, capacity]);
    return row;
  });
  const rows = results.map((r, i) => {
    if (r.ok) return r.value;
    const { service, env } = selected[i];
    // sudo said no: the host answered, and says which it is
    const sudo = r.error instanceof SudoRefusedError ? String(r.error.details?.host) : undefined;
    return {
      ...emptyRow(service, env, ws.service(service).driver, sudo ?? '?'),
      reachable: sudo !== undefined,
      errors: [errorMessage(r.error)],
    };
  });
  markDrift(ws, rows);
  await markRejected(ws, rows);
  return rows;
}

function emptyRow(service: string, env: string, driver: string, host: string): StatusRow {
  return {
    service,
    env,
    driver,
    host,
    reachable: true,
    version: null,
    chaos: null,
    latest: null,
    securityUpdate: false,
    securityReleases: [],
    behind: false,
    healthy: null,
    latencyMs: null,
    lock: null,
    lastBackup: null,
    freshness: null,
    drift: null,
    rejected: null,
    capacity: null,
    errors: [],
  };
}

/** Growth from the backups' sizes, and the free space of the host's data dir (`df`, read once per host and dir). */
async function readCapacity(t: Target, sizes: SizesLookup, free: Memo) {
  const points = await sizes(t);
  if (!points?.length) return null;
  const diskFreeBytes = await free.once(`${t.host.name}:${t.paths.dataDir}`, () => dataDirFree(t));
  const growthBytesPerDay = growthPerDay(points);
  return {
    sizes: points.map((p) => p.bytes),
    since: points[0].at,
    growthBytesPerDay,
    diskFreeBytes,
    fillsAt: fillsAt(growthBytesPerDay, diskFreeBytes),
  };
}

async function dataDirFree(t: Target): Promise<number> {
  const df = await t.remote.exec(['df', '-Pk', t.paths.dataDir], { mutates: false });
  return parseDf(df.stdout)[0].availableBytes;
}

/** Along a promotion chain (alpha → prod), say where a later stage runs something else than the one before it. */
function markDrift(ws: Workspace, rows: StatusRow[]): void {
  for (const [service, svc] of Object.entries(ws.config.services)) {
    const chain = svc.promotion ?? [];
    for (let i = 1; i < chain.length; i++) {
      const prev = rows.find((r) => r.service === service && r.env === chain[i - 1]);
      const cur = rows.find((r) => r.service === service && r.env === chain[i]);
      if (prev?.version && cur?.version && prev.version !== cur.version) {
        cur.drift = `${chain[i]} runs ${cur.version}, ${chain[i - 1]} runs ${prev.version}`;
      }
    }
  }
}

/** A rejected version that runs is flagged (the rejections of each service read once, from its hosts). */
async function markRejected(ws: Workspace, rows: StatusRow[]): Promise<void> {
  const services = [...new Set(rows.filter((r) => r.version).map((r) => r.service))];
  await Promise.all(
    services.map(async (service) => {
      // Best effort, like the drift, from the hosts that answered: one that did not is already a row that says so.
      const envs = rows.filter((r) => r.service === service && r.reachable && r.version).map((r) => r.env);
      const { rejected } = await readRejections(new RunView(ws), service, envs).catch(() => ({
        rejected: new Map<string, Rejection>(),
      }));
      for (const row of rows.filter((r) => r.service === service)) {
        const r = row.version ? rejected.get(row.version) : undefined;
        if (r) row.rejected = describeRejection(r);
      }
    }),
  );
}
