import { Memo } from '../kernel/memo.js';
import { hostVar, InventoryCache } from '../config/inventory.js';
import type { LoadedConfig } from '../config/load.js';
import type { ServiceConfig } from '../config/schema.js';
import { SshPool, type SshFiles } from '../remote/ssh.js';
import type { RunContext } from '../targets/runContext.js';
import type { Driver, HostPaths, ServiceProfile, Target } from '../targets/target.js';
import { ConfigError, InputError } from '../kernel/errors.js';
import type { ProcessRunner } from '../kernel/process.js';
import { unknownName } from '../kernel/validate.js';

export interface Registry {
  drivers: ReadonlyMap<string, Driver>;
  profiles: ReadonlyMap<string, ServiceProfile>;
}

interface ServiceEnv {
  service: string;
  env: string;
}

/**
 * The operators' world as this run sees it: config, inventories, SSH.
 * Commands ask it for targets; it resolves hosts from the Ansible inventory
 * and fails with file:line errors before anything runs remotely.
 */
export class Workspace implements RunContext {
  readonly inventories: InventoryCache;
  readonly ssh: SshPool;
  /** What Ansible's ssh is given too, so both check host keys against the same files. */
  readonly sshFiles: SshFiles;

  private readonly memo = new Memo();

  constructor(
    readonly loaded: LoadedConfig,
    readonly runner: ProcessRunner,
    readonly registry: Registry,
    readonly log: (line: string) => void = () => {},
    askPassphrase?: (keyFile: string) => Promise<string>,
  ) {
    const s = loaded.config.ssh;
    const file = (p: string | undefined) => (p ? loaded.resolvePath(p) : undefined);
    const vars = [...registry.profiles.values()].flatMap((p) => p.hostVariables);
    this.inventories = new InventoryCache(runner, vars);
    this.sshFiles = {
      configFile: file(s.config),
      knownHostsFile: file(s.knownHosts),
      globalKnownHostsFile: file(s.globalKnownHosts),
    };
    this.ssh = new SshPool(
      {
        ...this.sshFiles,
        identityFile: file(s.identityFile),
        askPassphrase,
        agent: s.agent,
        connectTimeoutMs: s.connectTimeout,
        commandTimeoutMs: s.commandTimeout,
        stallTimeoutMs: s.stallTimeout,
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

  driverOf(service: string): Driver {
    const svc = this.service(service);
    const d = this.registry.drivers.get(svc.driver);
    if (!d) throw this.loaded.error(['services', service, 'driver'], `unknown driver "${svc.driver}"`);
    return d;
  }

  /** The service's profile: `profile:` in the config, else the one named like the service, else its driver's. */
  profileOf(service: string): ServiceProfile {
    const svc = this.service(service);
    const fallback = this.driverOf(service).defaultProfile ?? svc.driver;
    const name = svc.profile ?? (this.registry.profiles.has(service) ? service : fallback);
    const p = this.registry.profiles.get(name);
    if (p) return p;
    const known = [...this.registry.profiles.keys()].join(', ');
    if (svc.profile)
      throw this.loaded.error(
        ['services', service, 'profile'],
        unknownName('service profile', name, known.split(', ')),
      );
    throw this.loaded.error(
      ['services', service],
      `no service profile fits ${service}: name one with profile: (${known})`,
    );
  }

  async target(service: string, env: string): Promise<Target> {
    this.envOf(service, env);
    const svc = this.service(service);
    const driver = this.driverOf(service);
    const profile = this.profileOf(service);
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
      const known = unknownName('host', envConfig.host, inventory.hosts.keys());
      throw this.loaded.error([...base, 'host'], `${known} in ${envConfig.inventory}`);
    }
    const vars = (name: string) => hostVar(host, name);
    const dataDir = vars('coopctl_data_dir') ?? profile.dataDir(vars) ?? driver.defaultDataDir;
    if (!dataDir) {
      throw this.loaded.error(
        [...base, 'host'],
        `${host.name}: set coopctl_data_dir in ${envConfig.inventory} (${service}'s directory)`,
      );
    }
    const paths: HostPaths = {
      stateDir: vars('coopctl_state_dir') ?? this.config.stateDir,
      tmpDir: vars('coopctl_tmp_dir') ?? '/tmp',
      dataDir,
      mdstat: vars('coopctl_mdstat') ?? '/proc/mdstat',
      rebootRequired: vars('coopctl_reboot_required') ?? '/var/run/reboot-required',
      backupDir: vars('coopctl_backup_dir') ?? this.config.backup.onHost.dir,
    };
    const { name, address, port, user, explicit, become } = host;
    const remote = this.ssh.host({ name, address, port, user, explicit, become });
    return {
      service,
      env,
      host,
      remote,
      paths,
      serviceConfig: svc,
      envConfig,
      driver,
      profile,
      database: this.database(service, env, driver, profile, paths),
      volumes: (svc.volumes ?? []).map((name) => ({ name, volume: driver.volumeName?.(svc, env, name) ?? name })),
    };
  }

  /**
   * The database config, completed with the profile's defaults; none when neither names one. Its container is a
   * compose service of the data dir, or the swarm service the driver names (a Co-op Cloud app's `<stack>_db`).
   */
  private database(
    service: string,
    env: string,
    driver: Driver,
    profile: ServiceProfile,
    paths: HostPaths,
  ): Target['database'] {
    const db = this.service(service).database;
    if (!profile.database && !db) return undefined;
    const name = db?.name ?? profile.database?.name;
    if (!name) {
      throw this.loaded.error(['services', service, 'database'], 'name: required (the database coopctl dumps)');
    }
    const container = db?.container === null ? undefined : (db?.container ?? 'db');
    const swarmService = container && driver.databaseService?.(this.service(service), env, container);
    return {
      ...(db?.engine === 'mariadb' ? { engine: db.engine } : {}),
      name,
      user: db?.user ?? 'postgres',
      container,
      ...(swarmService ? { swarmService } : { composeDir: container ? paths.dataDir : undefined }),
      tables: db?.tables ?? profile.database?.tables ?? [],
    };
  }

  /** One instance per run of something costly to make (a tool's client, a version catalogue). */
  once<T>(key: string, make: () => T): T {
    return this.memo.once(key, make);
  }

  /** A version-source URL from the config: remote URLs as they are, local paths relative to the config file. */
  gitUrl(url: string): string {
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[\w.-]+@[\w.-]+:/.test(url) ? url : this.loaded.resolvePath(url);
  }

  async close(): Promise<void> {
    await this.ssh.closeAll();
  }
}
