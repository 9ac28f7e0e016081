import { settleLimit } from '../kernel/concurrency.js';
import { errorMessage } from '../kernel/errors.js';
import { httpGet, joinUrl } from '../kernel/http.js';
import type { Target, Workspace } from '../targets/workspace.js';
import { HostFacts } from '../checks/facts.js';
import type { AbraApp } from '../drivers/abra/appList.js';
import { HostLock, type LockStatus } from '../history/lock.js';
import { listMastodonVersions, type MastodonCatalog } from '../services/mastodon/catalog.js';
import { compareMastodonVersions, tryParseMastodonVersion } from '../services/mastodon/version.js';
import { compareRecipeVersions, isOrdered, parseRecipeVersion } from '../drivers/abra/recipeVersion.js';

export interface StatusRow {
  service: string;
  env: string;
  driver: 'ansible' | 'abra';
  host: string;
  reachable: boolean;
  version: string | null;
  latest: string | null;
  /** A newer stable version is a security release. */
  securityUpdate: boolean;
  /** The newer stable versions that are security releases, newest first. */
  securityReleases: string[];
  behind: boolean;
  healthy: boolean | null;
  latencyMs: number | null;
  lock: { held: boolean; holder: string | null; since: string | null; stale: boolean } | null;
  lastBackup: { id: string; createdAt: string; verified: boolean } | null;
  drift: string | null;
  errors: string[];
}

export interface LastBackupLookup {
  (service: string, env: string): Promise<{ id: string; createdAt: string; verified: boolean } | null>;
}

interface Health {
  healthy: boolean;
  latencyMs: number | null;
  error?: string;
}

async function probe(url: string, timeoutMs: number, expectOk: boolean): Promise<Health> {
  try {
    const r = await httpGet(url, timeoutMs);
    const ok = r.status === 200 && (!expectOk || r.body.trim() === 'OK');
    return { healthy: ok, latencyMs: Math.round(r.ms), error: ok ? undefined : `${url} answered HTTP ${r.status}` };
  } catch (err) {
    return { healthy: false, latencyMs: null, error: errorMessage(err) };
  }
}

async function mastodonHealth(t: Extract<Target, { driver: 'ansible' }>): Promise<Health> {
  const h = t.envConfig.health;
  const [web, streaming] = await Promise.all([
    probe(joinUrl(h.url, '/health'), h.requestTimeout, true),
    probe(joinUrl(h.url, '/api/v1/streaming/health'), h.requestTimeout, true),
  ]);
  return { healthy: web.healthy && streaming.healthy, latencyMs: web.latencyMs, error: web.error ?? streaming.error };
}

function lockSummary(s: LockStatus): StatusRow['lock'] {
  return { held: s.held, holder: s.holder, since: s.since, stale: s.stale };
}

/** Live status of every selected service × environment, read in parallel; a broken host is a row, not a crash. */
export async function collectStatus(ws: Workspace, filter: { service?: string; env?: string }, lastBackup?: LastBackupLookup): Promise<StatusRow[]> {
  const selected = ws.select(filter);
  const catalogs = new Map<string, Promise<MastodonCatalog>>();
  const abraApps = new Map<string, Promise<AbraApp[]>>();
  const catalogFor = (service: string, url: string) => {
    let c = catalogs.get(service);
    if (!c) {
      c = listMastodonVersions({ runner: ws.runner, url: ws.gitUrl(url), notes: 'none' });
      c.catch(() => {});
      catalogs.set(service, c);
    }
    return c;
  };
  const appsOf = (server: string) => {
    let a = abraApps.get(server);
    if (!a) {
      a = ws.abra().listApps(server);
      a.catch(() => {});
      abraApps.set(server, a);
    }
    return a;
  };

  const results = await settleLimit(selected, ws.config.ssh.parallel, async ({ service, env }): Promise<StatusRow> => {
    const t = await ws.target(service, env);
    const row: StatusRow = {
      service, env, driver: t.driver, host: t.host.name, reachable: true, version: null, latest: null, securityUpdate: false, securityReleases: [],
      behind: false, healthy: null, latencyMs: null, lock: null, lastBackup: null, drift: null, errors: [],
    };
    const lockP = new HostLock(t.remote, t.paths.stateDir, service, env).status();
    const backupP = lastBackup ? lastBackup(service, env) : Promise.resolve(null);
    const tasks: Promise<void>[] = [];
    tasks.push(
      lockP.then(
        (s) => void (row.lock = lockSummary(s)),
        (err) => {
          row.reachable = false;
          row.errors.push(errorMessage(err));
        },
      ),
      backupP.then(
        (b) => void (row.lastBackup = b),
        (err) => void row.errors.push(`backups: ${errorMessage(err)}`),
      ),
    );
    if (t.driver === 'ansible') {
      tasks.push(
        new HostFacts(t).runningVersion().then((v) => void (row.version = v), (err) => void row.errors.push(errorMessage(err))),
        mastodonHealth(t).then((h) => {
          row.healthy = h.healthy;
          row.latencyMs = h.latencyMs;
          if (h.error) row.errors.push(h.error);
        }),
      );
      const catalog = catalogFor(service, t.serviceConfig.versions.url);
      await Promise.all(tasks);
      try {
        const c = await catalog;
        const newest = c.versions.find((v) => !v.prerelease);
        row.latest = newest?.version ?? null;
        const cur = row.version ? tryParseMastodonVersion(row.version) : undefined;
        if (newest && cur) {
          const newer = c.versions.filter((v) => !v.prerelease && compareMastodonVersions(v.parsed, cur) > 0);
          row.behind = newer.length > 0;
          row.securityReleases = newer.filter((v) => v.security).map((v) => v.version);
          row.securityUpdate = row.securityReleases.length > 0;
        }
      } catch (err) {
        row.errors.push(`versions: ${errorMessage(err)}`);
      }
    } else {
      const { server, domain, health } = t.envConfig;
      if (health) {
        tasks.push(
          probe(health.url, health.requestTimeout, false).then((h) => {
            row.healthy = h.healthy;
            row.latencyMs = h.latencyMs;
            if (h.error) row.errors.push(h.error);
          }),
        );
      }
      tasks.push(
        appsOf(server).then(
          (apps) => {
            const app = apps.find((a) => a.domain === domain);
            if (!app) return void row.errors.push(`abra does not know ${domain} on ${server}`);
            row.version = app.version ?? null;
            if (app.upgrade?.kind === 'available') {
              const sorted = app.upgrade.versions.map(parseRecipeVersion).filter((v) => v !== undefined).filter(isOrdered).sort(compareRecipeVersions);
              row.latest = sorted.at(-1)?.text ?? app.upgrade.versions.at(-1) ?? null;
              row.behind = true;
            } else if (app.upgrade?.kind === 'latest') row.latest = row.version;
          },
          (err) => void row.errors.push(`abra: ${errorMessage(err)}`),
        ),
      );
      await Promise.all(tasks);
    }
    return row;
  });

  const rows = results.map((r, i) =>
    r.ok
      ? r.value
      : ({
          service: selected[i].service, env: selected[i].env, driver: ws.service(selected[i].service).driver, host: '?', reachable: false,
          version: null, latest: null, securityUpdate: false, securityReleases: [], behind: false, healthy: null, latencyMs: null, lock: null, lastBackup: null,
          drift: null, errors: [errorMessage(r.error)],
        } satisfies StatusRow),
  );
  markDrift(ws, rows);
  return rows;
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
