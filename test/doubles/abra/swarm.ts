import { mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The JSON file standing in for a server's Docker Swarm: what runs, whether
 * it is healthy, the restic snapshots of each app, and the fault switches.
 * Read by the abra double and the sandbox's traefik stand-in; written by the
 * double and by `coopctl sandbox fault`.
 */
export const FAULT_KINDS = [
  'abra-upgrade-fails',
  'converge-timeout',
  'backup-container-not-running',
  'backup-empty-dump',
  'slow',
  'health-fails',
  // the Keycloak app's discovery document names the issuer of a renamed realm (test/doubles/keycloak.ts)
  'sso-broken',
  // the recipe's update_config says `failure_action: rollback`: swarm rolls the failed upgrade back by itself,
  // labels included, while the failed task is still migrating on boot (release.ts)
  'swarm-rolls-back',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export function isFaultKind(v: string): v is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(v);
}

export interface SwarmSnapshot {
  id: string;
  /** ISO 8601, UTC. */
  time: string;
  paths: string[];
  size: number;
  /** The backup pre-hook produced an empty dump: restoring this loses the data. */
  empty: boolean;
  /** The app version the snapshot was taken from. */
  version: string;
  /** What restic stored under `paths` (older records have none): files and directories with their sizes. */
  files?: SnapshotFile[];
}

export interface SnapshotFile {
  path: string;
  type: 'file' | 'dir';
  size: number;
  uid: number;
  gid: number;
}

/** A stack's service as the swarm runs it (from the recipe's compose files at the deployed version). */
export interface SwarmService {
  name: string;
  image: string;
}

/**
 * The database server behind an app's `db` service: a PostgreSQL cluster (a unix socket only), or a MariaDB server
 * (its socket, and a loopback port as the image's server listens on 3306).
 */
export interface SwarmDb {
  /** The `db` image's engine; a record without one is PostgreSQL. */
  engine?: 'postgres' | 'mariadb';
  /** The server's directory (data/, its log and pid file), for starting and stopping it. */
  dir: string;
  socketDir: string;
  port: number;
  database: string;
  /** MariaDB: the server's unix socket, the client's default in its container. */
  socket?: string;
  /** MariaDB: what the container has in /run/secrets (db_root_password, db_password), as Docker gives secrets. */
  secrets?: string;
  /** MariaDB: MYSQL_USER, the owner of `database`. */
  user?: string;
}

/**
 * An `app` task of a version the swarm is replacing (a failed upgrade, a rollback): it keeps running while it boots
 * and migrates, and is gone only once its migrations ran and it was stopped.
 */
export interface LingeringTask {
  id: string;
  version: string;
  image: string;
  startedAt: string;
  /** Its boot migrations land at this time (ISO 8601), if it still runs; `migrated` once they did. */
  migratesAt?: string;
  migrations: string[];
  migrated?: boolean;
  /** Set once the swarm replaces it: it is gone (shut down) at this time. */
  goneAt?: string;
}

export interface SwarmApp {
  stack: string;
  recipe: string;
  /** What the `coop-cloud.<stack>.version` label says: the truth of what runs. */
  version: string;
  chaos: boolean;
  /** A chaos deploy's `coop-cloud.<stack>.chaos-version` label: 8 hex of the recipe's HEAD, `+U` if dirty. */
  chaosVersion?: string;
  /** `app` tasks of earlier versions that have not ended yet. */
  lingering?: LingeringTask[];
  status: 'deployed' | 'undeployed';
  healthy: boolean;
  /** After a converge timeout, the app becomes healthy at this time (ISO 8601). */
  convergesAt?: string;
  deployedAt?: string;
  snapshots: SwarmSnapshot[];
  lastRestore?: { snapshot: string; at: string; empty: boolean };
  /** The stack's services; none recorded: the swarm knows only `app`. */
  services?: SwarmService[];
  /** Replicas per service set by `docker service scale`; a deploy resets them to the compose default (1). */
  replicas?: Record<string, number>;
  db?: SwarmDb;
}

export interface SwarmState {
  apps: Record<string, SwarmApp>;
  /** How long a failing `app` task boots before its migrations land (default BOOT_MIGRATION_SECONDS). */
  bootSeconds?: number;
  /** `"<domain>"` or `"*"` → active faults. */
  faults: Record<string, FaultKind[]>;
  /** How long a deploy that hit converge-timeout takes to settle after abra gave up (default 3). */
  convergeDelaySeconds?: number;
}

export const DEFAULT_CONVERGE_DELAY_SECONDS = 3;

/** The swarm's state lives in the server's host dir R: R/swarm.json. */
export function swarmPath(root: string): string {
  return path.join(root, 'swarm.json');
}

// source: coop-cloud/bonfire compose.yml (labels `coop-cloud.${STACK_NAME}.version=...` and
// `coop-cloud.${STACK_NAME}.timeout`); stack = domain with "." → "_" (reference/abra.md, C)
export function stackName(domain: string): string {
  return domain.replace(/\./g, '_');
}

export function readSwarm(file: string): SwarmState {
  let doc: Partial<SwarmState>;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as Partial<SwarmState>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') doc = {};
    else throw err;
  }
  return { ...doc, apps: doc.apps ?? {}, faults: doc.faults ?? {} };
}

function writeSwarm(file: string, state: SwarmState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Read-modify-write under a mkdir lock: a swarm applies one change at a time, whoever asks. */
export function updateSwarm<T>(file: string, change: (state: SwarmState) => T): T {
  const lock = `${file}.lock`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // a writer that died mid-change leaves its lock behind; changes take milliseconds
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 5_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`${lock} is held`);
      Atomics.wait(pause, 0, 0, 20);
    }
  }
  try {
    const state = readSwarm(file);
    const result = change(state);
    writeSwarm(file, state);
    return result;
  } finally {
    rmdirSync(lock);
  }
}

// source: reference/production.md (P): backup-bot-two is a Co-op Cloud app of its own, deployed on the server
// (hypha has none); abra finds its service there (commands/backup.ts)
export const BACKUP_BOT_RECIPE = 'backup-bot-two';

/** The server's deployed backup-bot-two, if any. */
export function backupBotOf(state: SwarmState): SwarmApp | undefined {
  return Object.values(state.apps).find((a) => a.recipe === BACKUP_BOT_RECIPE && a.status === 'deployed');
}

export function hasFault(state: SwarmState, domain: string, kind: FaultKind): boolean {
  return Boolean(state.faults[domain]?.includes(kind) || state.faults['*']?.includes(kind));
}

/** Replicas the swarm is asked to run for one service of a deployed app. */
export function wantedReplicas(app: SwarmApp, service: string): number {
  return app.status === 'deployed' ? (app.replicas?.[service] ?? 1) : 0;
}

/** The app's `app` task runs and passes its health check (converged, not scaled to 0). */
// source: https://docs.docker.com/reference/cli/docker/service/ls/ (REPLICAS "shows both the actual and desired
// number of tasks"): a task that fails its healthcheck is not running; bonfire's app has a curl healthcheck
export function isHealthy(app: SwarmApp | undefined, now = Date.now()): boolean {
  if (app?.status !== 'deployed' || wantedReplicas(app, 'app') === 0) return false;
  if (app.healthy) return true;
  return app.convergesAt !== undefined && Date.parse(app.convergesAt) <= now;
}

export function setFault(state: SwarmState, target: string, kind: FaultKind, on: boolean): void {
  const list = new Set(state.faults[target] ?? []);
  if (on) list.add(kind);
  else list.delete(kind);
  if (list.size) state.faults[target] = [...list];
  else delete state.faults[target];
}
