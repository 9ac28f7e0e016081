import { existsSync } from 'node:fs';
import path from 'node:path';
import { isRunning, readPid } from '../../world/processes.js';
import { startCluster, stopCluster } from '../../world/postgres.js';
import {
  containerName,
  withDependencies,
  selectServices,
  type ComposeProject,
  type ComposeService,
} from './compose.js';
import { readJson, standinPaths, writeJsonAtomic, type StandinConfig } from './config.js';
import { imageDir, imagePresent, pullImage, type PullOutcome } from './images.js';
import { hostCluster } from './migrations.js';
import { startWeb, stopWeb, webPid } from './webProcess.js';

/**
 * Container state of a sandbox host, kept like the Docker daemon keeps it:
 * records survive restarts; whether a container really runs is checked
 * against the process behind it (PostgreSQL for db, the web stand-in for
 * web/streaming).
 */
// source: https://docs.docker.com/reference/cli/docker/compose/up/ (a container is recreated when its
// configuration or image changed, else left Running); progress lines " Container NAME  Created/Started/Running"
// as compose v2 prints them in plain mode (recorded real output)
export interface ContainerRecord {
  service: string;
  name: string;
  project: string;
  image: string;
  configHash: string;
  state: 'running' | 'exited';
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

interface DockerState {
  networks: string[];
  containers: Record<string, ContainerRecord>;
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export function readState(root: string): DockerState {
  return readJson<DockerState>(standinPaths(root).containers, { networks: [], containers: {} });
}

function writeState(root: string, state: DockerState): void {
  writeJsonAtomic(standinPaths(root).containers, state);
}

export function postgresRunning(root: string): boolean {
  const pid = readPid(path.join(standinPaths(root).pg, 'data', 'postmaster.pid'));
  return pid !== undefined && isRunning(pid);
}

export function recordAlive(root: string, rec: ContainerRecord, kind: ComposeService['kind']): boolean {
  if (rec.state !== 'running') return false;
  if (kind === 'db') return postgresRunning(root);
  if (kind === 'web' || kind === 'streaming') return webPid(root) !== undefined;
  return true;
}

// the harsher reading: after a reboot nothing runs until systemd's unit starts the project again (production's
// compose file also sets `restart: always`, mastodon/mastodon docker-compose.yml; the unit must not rely on it)
/** A "reboot": every container stops (the processes are gone already). */
export function markAllExited(root: string): void {
  if (!existsSync(standinPaths(root).containers)) return;
  const state = readState(root);
  for (const rec of Object.values(state.containers)) {
    if (rec.state === 'running') Object.assign(rec, { state: 'exited', finishedAt: new Date().toISOString() });
  }
  writeState(root, state);
}

export function printPull(io: Io, service: string, outcome: PullOutcome): void {
  if (outcome.kind === 'downloaded') {
    for (const layer of outcome.layers) io.err(` ${layer} Pulling fs layer `);
    for (const layer of outcome.layers) io.err(` ${layer} Pull complete `);
  }
  io.err(` ${service} Pulled `);
}

export class Containers {
  private state: DockerState;

  constructor(
    private readonly root: string,
    private readonly cfg: StandinConfig,
    private readonly project: ComposeProject,
    private readonly io: Io,
  ) {
    this.state = readState(root);
  }

  private line(name: string, status: string): void {
    this.io.err(` Container ${name}  ${status}`);
  }

  private save(): void {
    writeState(this.root, this.state);
  }

  record(service: ComposeService): ContainerRecord | undefined {
    return this.state.containers[containerName(this.project, service.name)];
  }

  running(service: ComposeService): boolean {
    const rec = this.record(service);
    return rec !== undefined && recordAlive(this.root, rec, service.kind);
  }

  service(name: string): ComposeService | undefined {
    return this.project.services.find((s) => s.name === name);
  }

  ensureImage(service: ComposeService): void {
    if (imagePresent(this.root, this.cfg, service.image)) return;
    if (service.pullPolicy === 'never') throw new Error(`No such image: ${service.image}`);
    this.io.err(` ${service.name} Pulling `);
    printPull(this.io, service.name, pullImage(this.root, this.cfg, service.image));
  }

  /** Starts what backs the services; web and streaming share one process, started once. */
  private async startBacking(services: ComposeService[]): Promise<void> {
    if (services.some((s) => s.kind === 'db')) startCluster(hostCluster(this.root, this.cfg));
    if (services.some((s) => s.kind === 'web' || s.kind === 'streaming')) {
      const web = this.project.services.find((s) => s.kind === 'web');
      if (!web)
        throw new Error('the streaming stand-in runs inside the web stand-in: the project needs a "web" service');
      const streaming = this.project.services.find((s) => s.kind === 'streaming');
      await startWeb(this.root, this.cfg, {
        image: web.image,
        imageDir: imageDir(this.root, web.image),
        streamingImage: streaming?.image,
        env: web.env,
      });
    }
  }

  private async stopBacking(services: ComposeService[]): Promise<void> {
    if (services.some((s) => s.kind === 'web' || s.kind === 'streaming')) await stopWeb(this.root);
    if (services.some((s) => s.kind === 'db')) stopCluster(hostCluster(this.root, this.cfg));
  }

  private markRunning(service: ComposeService): void {
    const name = containerName(this.project, service.name);
    const now = new Date().toISOString();
    const prev = this.state.containers[name];
    this.state.containers[name] = {
      service: service.name,
      name,
      project: this.project.name,
      image: service.image,
      configHash: service.configHash,
      state: 'running',
      createdAt: prev?.configHash === service.configHash && prev.image === service.image ? prev.createdAt : now,
      startedAt: now,
    };
  }

  async up(names: string[], opts: { removeOrphans?: boolean } = {}): Promise<void> {
    const services = withDependencies(this.project, names);
    const network = `${this.project.name}_default`;
    if (!this.state.networks.includes(network)) {
      this.io.err(` Network ${network}  Creating`);
      this.state.networks.push(network);
      this.io.err(` Network ${network}  Created`);
    }
    if (opts.removeOrphans) {
      for (const rec of Object.values(this.state.containers)) {
        if (rec.project === this.project.name && !this.service(rec.service)) {
          this.line(rec.name, 'Removing');
          delete this.state.containers[rec.name];
          this.line(rec.name, 'Removed');
        }
      }
    }
    // The shared web process must restart if either of its services changes.
    const webShared = services.filter((s) => s.kind === 'web' || s.kind === 'streaming');
    const webNeedsStart = webShared.some((s) => {
      const rec = this.record(s);
      return !rec || rec.configHash !== s.configHash || rec.image !== s.image || !recordAlive(this.root, rec, s.kind);
    });
    let webStarted = false;
    for (const s of services) {
      const rec = this.record(s);
      const name = containerName(this.project, s.name);
      const changed = rec !== undefined && (rec.configHash !== s.configHash || rec.image !== s.image);
      const shared = s.kind === 'web' || s.kind === 'streaming';
      if (rec && !changed && recordAlive(this.root, rec, s.kind) && !(shared && webNeedsStart)) {
        this.line(name, 'Running');
        continue;
      }
      this.ensureImage(s);
      if (!rec) {
        this.line(name, 'Creating');
        this.line(name, 'Created');
      } else if (changed) {
        this.line(name, 'Recreate');
        this.line(name, 'Recreated');
      }
      this.line(name, 'Starting');
      if (!shared) await this.startBacking([s]);
      else if (!webStarted) {
        await this.startBacking(webShared);
        webStarted = true;
      }
      this.markRunning(s);
      this.save();
      this.line(name, 'Started');
    }
    this.save();
  }

  async restart(names: string[]): Promise<void> {
    const services = selectServices(this.project, names).filter((s) => this.record(s));
    const shared = services.filter((s) => s.kind === 'web' || s.kind === 'streaming');
    for (const s of services) this.line(containerName(this.project, s.name), 'Restarting');
    await this.stopBacking(services);
    for (const s of services) if (!shared.includes(s)) await this.startBacking([s]);
    if (shared.length) await this.startBacking(shared);
    for (const s of services) {
      this.markRunning(s);
      this.line(containerName(this.project, s.name), 'Started');
    }
    this.save();
  }

  async stop(names: string[]): Promise<void> {
    selectServices(this.project, names);
    const stopping = withDependencies(this.project, [])
      .filter((s) => (!names.length || names.includes(s.name)) && this.record(s)?.state === 'running')
      .reverse();
    for (const s of stopping) this.line(containerName(this.project, s.name), 'Stopping');
    await this.stopBacking(stopping);
    for (const s of stopping) {
      Object.assign(this.record(s)!, { state: 'exited', finishedAt: new Date().toISOString() });
      this.line(containerName(this.project, s.name), 'Stopped');
    }
    this.save();
  }

  async down(): Promise<void> {
    await this.stop([]);
    for (const rec of Object.values(this.state.containers).filter((r) => r.project === this.project.name)) {
      this.line(rec.name, 'Removing');
      delete this.state.containers[rec.name];
      this.line(rec.name, 'Removed');
    }
    // Containers of services no longer in the file are stopped too: nothing may keep running.
    await stopWeb(this.root);
    const network = `${this.project.name}_default`;
    if (this.state.networks.includes(network)) {
      this.io.err(` Network ${network}  Removing`);
      this.state.networks = this.state.networks.filter((n) => n !== network);
      this.io.err(` Network ${network}  Removed`);
    }
    this.save();
  }

  /** Rows for `ps`, in the compose file's order. */
  list(names: string[], all: boolean): { service: ComposeService; rec: ContainerRecord; alive: boolean }[] {
    return selectServices(this.project, names)
      .map((service) => ({ service, rec: this.record(service)! }))
      .filter((r) => r.rec)
      .map((r) => ({ ...r, alive: recordAlive(this.root, r.rec, r.service.kind) }))
      .filter((r) => all || r.alive);
  }

  /** `docker compose run` starts the service's dependencies first. */
  async startDependencies(service: ComposeService): Promise<void> {
    const deps = withDependencies(this.project, [service.name]).filter((s) => s !== service);
    if (deps.length) await this.up(deps.map((d) => d.name));
    this.ensureImage(service);
  }
}
