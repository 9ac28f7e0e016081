import type { InventoryHost } from '../config/inventory.js';
import type { LoadedConfig } from '../config/load.js';
import type { MonitoringConfig } from '../config/schema.js';
import { appPublicProbes } from '../services/coopcloud/verify.js';
import type { PublicProbe, ServiceMonitoring } from '../targets/publicProbe.js';
import type { ServiceProfile } from '../targets/target.js';
import { federationProbes } from '../services/federation.js';

/** A host the monitoring scrapes node exporter on, at its inventory address. */
interface WatchedHost {
  /** The inventory name (rhizome): the `host` label. */
  name: string;
  address: string;
}

/** A service × environment as the monitoring watches it. */
interface WatchedTarget {
  service: string;
  env: string;
  /** The inventory name of its host. */
  host: string;
  probes: PublicProbe[];
  /** health.latencyMs, when the environment has a health URL. */
  latencyBudgetMs?: number;
  /** The exporters its host runs (job names of monitoring.ports). */
  exporters: readonly string[];
  /** It has a database coopctl backs up and restore-tests: its freshness metrics are expected. */
  backedUp: boolean;
}

/** Everything the builders need, read from coopctl.yaml and the inventories: no host is asked anything. */
export interface MonitorPlan {
  settings: MonitoringConfig;
  /** The monitoring host. */
  monitor: WatchedHost;
  hosts: WatchedHost[];
  targets: WatchedTarget[];
}

/** What the reader needs of the workspace: the loaded file, the inventories, the profiles. */
interface MonitorSources {
  loaded: LoadedConfig;
  inventories: { get(file: string): Promise<{ hosts: ReadonlyMap<string, InventoryHost> }> };
  profileOf(service: string): Pick<ServiceProfile, 'id' | 'database' | 'monitoring'>;
}

async function inventoryHost(src: MonitorSources, where: (string | number)[], inventory: string, host: string) {
  const found = (await src.inventories.get(src.loaded.resolvePath(inventory))).hosts.get(host);
  if (!found) throw src.loaded.error([...where, 'host'], `no host "${host}" in ${inventory}`);
  return found;
}

const sameMachine = (a: InventoryHost, b: InventoryHost) => a.address === b.address && a.port === b.port;

/** A profile that says nothing of its monitoring is probed by its health URL alone, as a Co-op Cloud app is. */
const HEALTH_URL_ONLY: ServiceMonitoring = { probes: appPublicProbes, exporters: [], ownsHost: false };

/**
 * The plan of what to watch, from config and inventories only. The Mastodon health URLs are the public ones
 * (through nginx): what coopctl asks on the host itself needs a host read (.env.production's LOCAL_DOMAIN), which
 * a render does not make.
 */
export async function readMonitorPlan(src: MonitorSources): Promise<MonitorPlan> {
  const { config } = src.loaded;
  const settings = config.monitoring;
  if (!settings) throw src.loaded.error(['monitoring'], 'is required by monitor render (see README: Configuration)');
  const monitorHost = await inventoryHost(src, ['monitoring'], settings.inventory, settings.host);
  const hosts = new Map<string, WatchedHost>([[monitorHost.name, toWatched(monitorHost)]]);
  const targets: WatchedTarget[] = [];
  for (const [service, svc] of Object.entries(config.services)) {
    const profile = src.profileOf(service);
    const watch = profile.monitoring ?? HEALTH_URL_ONLY;
    for (const [env, e] of Object.entries(svc.environments)) {
      const where = ['services', service, 'environments', env];
      const host = await inventoryHost(src, where, e.inventory, e.host);
      if (watch.ownsHost && sameMachine(host, monitorHost)) {
        throw src.loaded.error(
          ['monitoring', 'host'],
          `${settings.host} is ${service}/${env}'s host: the monitoring must not run on the ${profile.id} host it ` +
            'watches',
        );
      }
      hosts.set(host.name, toWatched(host));
      targets.push({
        service,
        env,
        host: host.name,
        probes: e.health ? [...watch.probes(e.health), ...federationProbes(e.health, e.health.federation)] : [],
        latencyBudgetMs: e.health?.latencyMs,
        exporters: watch.exporters,
        backedUp: Boolean(svc.database ?? profile.database),
      });
    }
  }
  const restoreTest = config.backup.restoreTest;
  if (restoreTest) {
    const host = await inventoryHost(src, ['backup', 'restoreTest'], restoreTest.inventory, restoreTest.host);
    hosts.set(host.name, toWatched(host));
  }
  return { settings, monitor: toWatched(monitorHost), hosts: [...hosts.values()], targets };
}

const toWatched = (h: InventoryHost): WatchedHost => ({ name: h.name, address: h.address });
