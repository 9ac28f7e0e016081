import { hostVar, InventoryCache, type InventoryHost } from '../config/inventory.js';
import type { LoadedConfig } from '../config/load.js';
import type { AbraServiceConfig, AnsibleServiceConfig, ServiceConfig } from '../config/schema.js';
import { AbraDriver } from '../drivers/abra/driver.js';
import { SshPool, type RemoteHost } from '../remote/ssh.js';
import { ConfigError, InputError } from '../kernel/errors.js';
import type { ProcessRunner } from '../kernel/process.js';
import { unknownName } from '../kernel/validate.js';

/** Filesystem locations on a host that checks and operations use; inventory vars override. */
export interface HostPaths {
  stateDir: string;
  tmpDir: string;
  dataDir: string;
  mdstat: string;
  rebootRequired: string;
}

interface TargetBase {
  service: string;
  env: string;
  host: InventoryHost;
  remote: RemoteHost;
  paths: HostPaths;
}
export interface AnsibleTarget extends TargetBase {
  driver: 'ansible';
  serviceConfig: AnsibleServiceConfig;
  envConfig: AnsibleServiceConfig['environments'][string];
}
export interface AbraTarget extends TargetBase {
  driver: 'abra';
  serviceConfig: AbraServiceConfig;
  envConfig: AbraServiceConfig['environments'][string];
}
export type Target = AnsibleTarget | AbraTarget;

export interface ServiceEnv {
  service: string;
  env: string;
}

/**
 * The operators' world as this run sees it: config, inventories, SSH.
 * Commands ask it for targets; it resolves hosts from the Ansible inventory
 * and fails with file:line errors before anything runs remotely.
 */
export class Workspace {
  readonly inventories: InventoryCache;
  readonly ssh: SshPool;

  constructor(
    readonly loaded: LoadedConfig,
    readonly runner: ProcessRunner,
    readonly log: (line: string) => void = () => {},
  ) {
    const s = loaded.config.ssh;
    this.inventories = new InventoryCache(runner);
    this.ssh = new SshPool(
      {
        knownHostsFile: loaded.resolvePath(s.knownHosts),
        identityFile: s.identityFile ? loaded.resolvePath(s.identityFile) : undefined,
        agent: s.agent,
        connectTimeoutMs: s.connectTimeout,
        commandTimeoutMs: s.commandTimeout,
      },
      runner.dryRun,
      log,
    );
  }

  get config() {
    return this.loaded.config;
  }

  service(name: string): ServiceConfig {
    const svc = this.config.services[name];
    if (!svc) throw new InputError(unknownName('service', name, Object.keys(this.config.services)));
    return svc;
  }

  /** Validates --env against the service's environments. */
  envOf(service: string, env: string): void {
    const svc = this.service(service);
    if (!svc.environments[env]) {
      throw new InputError(`--env: ${unknownName(`environment of ${service}`, env, Object.keys(svc.environments))}`);
    }
  }

  /** Every service × environment, filtered; unknown names are errors. */
  select(filter: { service?: string; env?: string } = {}): ServiceEnv[] {
    if (filter.service) this.service(filter.service);
    const out: ServiceEnv[] = [];
    for (const [service, svc] of Object.entries(this.config.services)) {
      if (filter.service && service !== filter.service) continue;
      for (const env of Object.keys(svc.environments)) {
        if (filter.env && env !== filter.env) continue;
        out.push({ service, env });
      }
    }
    if (filter.env && out.length === 0) {
      const envs = new Set(Object.values(this.config.services).flatMap((s) => Object.keys(s.environments)));
      throw new InputError(`--env: ${unknownName('environment', filter.env, envs)}`);
    }
    return out;
  }

  async target(service: string, env: string): Promise<Target> {
    this.envOf(service, env);
    const svc = this.service(service);
    const envConfig = svc.environments[env];
    const base = ['services', service, 'environments', env] as const;
    const inventoryFile = this.loaded.resolvePath(envConfig.inventory);
    let inventory;
    try {
      inventory = await this.inventories.get(inventoryFile);
    } catch (err) {
      if (err instanceof ConfigError) throw this.loaded.error([...base, 'inventory'], err.message);
      throw err;
    }
    const host = inventory.hosts.get(envConfig.host);
    if (!host) {
      throw this.loaded.error([...base, 'host'], `${unknownName('host', envConfig.host, inventory.hosts.keys())} in ${envConfig.inventory}`);
    }
    const paths: HostPaths = {
      stateDir: hostVar(host, 'coopctl_state_dir') ?? this.config.stateDir,
      tmpDir: hostVar(host, 'coopctl_tmp_dir') ?? '/tmp',
      dataDir: hostVar(host, 'coopctl_data_dir') ?? (svc.driver === 'ansible' ? hostVar(host, 'mastodon_dir') ?? '/opt/social.coop' : '/var/lib/docker'),
      mdstat: hostVar(host, 'coopctl_mdstat') ?? '/proc/mdstat',
      rebootRequired: hostVar(host, 'coopctl_reboot_required') ?? '/var/run/reboot-required',
    };
    const remote = this.ssh.host({ name: host.name, address: host.address, port: host.port, user: host.user });
    const common = { service, env, host, remote, paths };
    return svc.driver === 'ansible'
      ? { ...common, driver: 'ansible', serviceConfig: svc, envConfig: envConfig as AnsibleTarget['envConfig'] }
      : { ...common, driver: 'abra', serviceConfig: svc, envConfig: envConfig as AbraTarget['envConfig'] };
  }

  private abraDriver?: AbraDriver;

  /** The abra CLI as configured (a bin path with a slash is relative to the config file). */
  abra(onLine?: (line: string, stream: 'stdout' | 'stderr') => void): AbraDriver {
    const a = this.config.abra;
    const settings = { bin: a.bin.includes('/') ? this.loaded.resolvePath(a.bin) : a.bin, dir: a.dir ? this.loaded.resolvePath(a.dir) : undefined };
    if (onLine) return new AbraDriver({ runner: this.runner, settings, onLine });
    this.abraDriver ??= new AbraDriver({ runner: this.runner, settings });
    return this.abraDriver;
  }

  /** A version-source URL from the config: remote URLs as they are, local paths relative to the config file. */
  gitUrl(url: string): string {
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[\w.-]+@[\w.-]+:/.test(url) ? url : this.loaded.resolvePath(url);
  }

  async close(): Promise<void> {
    await this.ssh.closeAll();
  }
}
