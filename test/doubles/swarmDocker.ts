/**
 * `docker` on the sandbox's Co-op Cloud server (hypha): the Docker Swarm commands coopctl and the operators use
 * there, over the server's swarm.json (which the abra double writes when it deploys). A `db` task is the app's
 * own database server (PostgreSQL or MariaDB) on the server: `docker exec` runs its tools in the container's
 * environment, streams untouched.
 * Run as `node build/world/test/doubles/swarmDocker.js ...` by R/bin/docker, which sets COOPCTL_SANDBOX_ROOT=R.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dbSecretFile, isMariaDb } from './abra/appDb.js';
import {
  isHealthy,
  readSwarm,
  swarmPath,
  updateSwarm,
  wantedReplicas,
  type SwarmApp,
  type SwarmDb,
} from './abra/swarm.js';
import { advanceSwarm } from './abra/tasks.js';
import { envFlags, has, parseArgs, tabulate, UsageError, type Parsed } from './dockerArgs.js';
import { DOCKER_PERMISSION_DENIED, daemonReachable } from './dockerDaemon.js';
import { ensureSystemPath } from './mastodon/config.js';
import { parseExecArgs, plainContainerCommand } from './scratchContainers.js';
import { volumeCommand } from './dockerVolumes.js';

interface Task {
  id: string;
  name: string;
  domain: string;
  service: string;
  image: string;
  labels: Record<string, string>;
  createdAt: string;
}

/** A row of `docker service ls`, with docker's field names (the `{{json .}}` keys). */
export interface ServiceRow {
  ID: string;
  Image: string;
  Mode: string;
  Name: string;
  Ports: string;
  Replicas: string;
}

function hex(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

// source: moby/swarmkit identity/randomid.go (IDs are base-36, 25 characters); the CLI truncates to 12
/** Swarm object ids are lowercase base 36; the CLI shows their first 12 characters. */
function swarmId(...parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('\0')).digest();
  return [...digest.subarray(0, 25)].map((b) => (b % 36).toString(36)).join('');
}

function servicesOf(app: SwarmApp): Array<{ name: string; image: string }> {
  return app.services?.length ? app.services : [{ name: 'app', image: '' }];
}

/** How many tasks of a service run: `app` only once its task passes its health check. */
function runningReplicas(app: SwarmApp, service: string, now = Date.now()): number {
  const wanted = wantedReplicas(app, service);
  return service === 'app' && !isHealthy(app, now) ? 0 : wanted;
}

// source: https://docs.docker.com/reference/cli/docker/service/ls/ (columns ID NAME MODE REPLICAS IMAGE PORTS;
// REPLICAS "shows both the actual and desired number of tasks"; `--format json` prints one object per line)
export function serviceRows(apps: Record<string, SwarmApp>, now = Date.now()): ServiceRow[] {
  return Object.values(apps)
    .filter((a) => a.status === 'deployed')
    .flatMap((a) =>
      servicesOf(a).map((s) => ({
        ID: swarmId('service', a.stack, s.name).slice(0, 12),
        Image: s.image,
        Mode: 'replicated',
        Name: `${a.stack}_${s.name}`,
        Ports: '',
        Replicas: `${runningReplicas(a, s.name, now)}/${wantedReplicas(a, s.name)}`,
      })),
    )
    .sort((x, y) => x.Name.localeCompare(y.Name));
}

/** The running task containers: ids stable per app, service and deploy. */
function runningTasks(apps: Record<string, SwarmApp>): Task[] {
  return Object.entries(apps).flatMap(([domain, a]) =>
    servicesOf(a).flatMap((s) =>
      Array.from({ length: runningReplicas(a, s.name) }, (_, i) => {
        const slot = i + 1;
        const task = swarmId('task', a.stack, s.name, String(slot), a.deployedAt ?? '');
        return {
          id: hex('container', a.stack, s.name, String(slot), a.deployedAt ?? '').slice(0, 12),
          name: `${a.stack}_${s.name}.${slot}.${task}`,
          domain,
          service: s.name,
          image: s.image,
          createdAt: a.deployedAt ?? '',
          labels: {
            'com.docker.stack.namespace': a.stack,
            'com.docker.swarm.service.name': `${a.stack}_${s.name}`,
            'com.docker.swarm.task.name': `${a.stack}_${s.name}.${slot}.${task}`,
          },
        };
      }),
    ),
  );
}

// source: https://docs.docker.com/reference/cli/docker/service/ls/#filter and .../container/ls/#filter
// (label=KEY or KEY=VALUE; repeated keys OR, different keys AND; an unknown filter is the daemon's
// "invalid filter" error)
function labelFilter(labels: Record<string, string>, spec: string): boolean {
  const eq = spec.indexOf('=');
  return eq < 0 ? spec in labels : labels[spec.slice(0, eq)] === spec.slice(eq + 1);
}

/** docker's `--filter key=value`: the same key ORs, different keys AND. */
function filters(p: Parsed, known: readonly string[]): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const f of [...(p.flags.get('--filter') ?? []), ...(p.flags.get('-f') ?? [])]) {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    if (eq < 0 || !known.includes(key)) throw new DaemonError(`invalid filter '${f}'`);
    byKey.set(key, [...(byKey.get(key) ?? []), f.slice(eq + 1)]);
  }
  return byKey;
}

const matches = (wanted: string[] | undefined, test: (v: string) => boolean) => !wanted || wanted.some(test);

class DaemonError extends Error {}

const out = (line: string) => process.stdout.write(`${line}\n`);

function since(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)) || 0;
  if (s < 60) return `${s} seconds`;
  if (s < 3600) return `${Math.floor(s / 60)} minutes`;
  return `${Math.floor(s / 3600)} hours`;
}

function ps(file: string, args: string[]): number {
  const p = parseArgs(args, ['-q', '--quiet', '-a', '--all', '--no-trunc'], ['-f', '--filter', '--format']);
  const f = filters(p, ['label', 'status', 'name', 'id']);
  const tasks = runningTasks(readSwarm(file).apps).filter(
    (t) =>
      matches(f.get('label'), (l) => labelFilter(t.labels, l)) &&
      matches(f.get('status'), (s) => s === 'running') &&
      matches(f.get('name'), (n) => t.name.includes(n)) &&
      matches(f.get('id'), (id) => t.id.startsWith(id)),
  );
  if (has(p, '-q', '--quiet')) for (const t of tasks) out(t.id);
  else {
    const rows = tasks.map((t) => [
      t.id,
      t.image,
      t.service === 'db' ? '"docker-entrypoint.s…"' : '"/entrypoint.sh"',
      `${since(t.createdAt)} ago`,
      `Up ${since(t.createdAt)}`,
      '',
      t.name,
    ]);
    for (const line of tabulate([['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], ...rows]))
      out(line);
  }
  return 0;
}

// source: recorded real output of `docker exec ID missing-cmd` (runc: "OCI runtime exec failed: exec failed:
// unable to start container process: exec: ...: executable file not found in $PATH: unknown"), exit 127
function notInContainer(cmd: string): number {
  process.stderr.write(
    `OCI runtime exec failed: exec failed: unable to start container process: exec: "${cmd}": executable file not found in $PATH: unknown\n`,
  );
  return 127;
}

// source: MariaDB/mariadb-docker 10.11/Dockerfile (mariadb-server, mariadb-backup, mariadb-client: no PostgreSQL
// tools) and docker-library/postgres 15/bookworm/Dockerfile (postgresql-15: no MariaDB client)
/** The other engine's client tools are not in a `db` image. */
function imageHas(db: SwarmDb, cmd: string): boolean {
  const tool = path.basename(cmd);
  const postgres = /^(psql|pg_\w+|createdb|dropdb|createuser|dropuser)$/.test(tool);
  const mariadb = /^(mariadb|mysql)(-\w+|dump|admin|check)?$/.test(tool);
  return isMariaDb(db) ? !postgres : !mariadb;
}

// source: MariaDB/mariadb-docker 10.11/docker-entrypoint.sh (file_env reads MYSQL_ROOT_PASSWORD_FILE and
// MYSQL_PASSWORD_FILE; its exports do not reach `docker exec`, which gets the service's configured environment:
// the recipes' MYSQL_DATABASE, MYSQL_USER and the *_FILE paths); the postgres image's PG* defaults likewise.
/** What a `docker exec` in the app's `db` container has in its environment. */
function containerEnv(db: SwarmDb): NodeJS.ProcessEnv {
  if (!isMariaDb(db))
    return {
      ...process.env,
      PGHOST: db.socketDir,
      PGPORT: String(db.port),
      PGUSER: 'postgres',
      POSTGRES_USER: 'postgres',
      POSTGRES_DB: db.database,
    };
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    // the container's root has no ~/.my.cnf; $MYSQL_HOME/my.cnf names the server's socket (appDatabases.ts)
    HOME: db.dir,
    MYSQL_HOME: db.dir,
    MYSQL_DATABASE: db.database,
    MYSQL_USER: db.user ?? '',
    MYSQL_PASSWORD_FILE: dbSecretFile(db, 'db_password'),
    MYSQL_ROOT_PASSWORD_FILE: dbSecretFile(db, 'db_root_password'),
  };
}

/** `docker exec [-i] ID ARGV...`: in a `db` task, ARGV runs against the app's server with the container's stdio. */
async function exec(file: string, args: string[]): Promise<number> {
  const p = parseExecArgs(args);
  const [id, ...argv] = p.positionals;
  if (!id || !argv.length) throw new UsageError('"docker exec" requires at least 2 arguments.');
  // source: docker/cli cli/streams/in.go:37-42 (CheckTty: -i with -t from a client whose stdin is not a terminal)
  if (has(p, '-t', '--tty') && has(p, '-i', '--interactive') && !process.stdin.isTTY) {
    process.stderr.write('the input device is not a TTY\n');
    return Promise.resolve(1);
  }
  const swarm = readSwarm(file);
  const task = runningTasks(swarm.apps).find((t) => t.id.startsWith(id) || t.name === id);
  // source: moby daemon errors ("Error response from daemon: No such container: ID"), exit 1
  if (!task) throw new DaemonError(`No such container: ${id}`);
  const db = swarm.apps[task.domain].db;
  if (task.service !== 'db' || !db) return Promise.resolve(notInContainer(argv[0]));
  if (!imageHas(db, argv[0])) return Promise.resolve(notInContainer(argv[0]));
  const env = { ...containerEnv(db), ...envFlags(p) };
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {
      stdio: has(p, '-i', '--interactive') ? 'inherit' : ['ignore', 'inherit', 'inherit'],
      env,
    });
    child.on('error', (err) =>
      resolve((err as NodeJS.ErrnoException).code === 'ENOENT' ? notInContainer(argv[0]) : 126),
    );
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

function serviceLs(file: string, args: string[]): number {
  const p = parseArgs(args, ['-q', '--quiet'], ['-f', '--filter', '--format']);
  const f = filters(p, ['label', 'name', 'id', 'mode']);
  const apps = readSwarm(file).apps;
  const stackOf = new Map(Object.values(apps).flatMap((a) => servicesOf(a).map((s) => [`${a.stack}_${s.name}`, a])));
  const rows = serviceRows(apps).filter((r) => {
    const labels = { 'com.docker.stack.namespace': stackOf.get(r.Name)?.stack ?? '' };
    return (
      matches(f.get('label'), (l) => labelFilter(labels, l)) &&
      matches(f.get('name'), (n) => r.Name.startsWith(n)) &&
      matches(f.get('id'), (id) => r.ID.startsWith(id)) &&
      matches(f.get('mode'), (m) => m === r.Mode)
    );
  });
  const format = p.flags.get('--format')?.at(-1);
  if (has(p, '-q', '--quiet')) for (const r of rows) out(r.ID);
  else if (format === '{{json .}}' || format === 'json') for (const r of rows) out(JSON.stringify(r));
  else if (format !== undefined && format !== 'table')
    throw new UsageError(`the sandbox's docker formats service ls as a table or {{json .}} only, not ${format}`);
  else {
    const table = rows.map((r) => [r.ID, r.Name, r.Mode, r.Replicas, r.Image, r.Ports]);
    for (const line of tabulate([['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'], ...table])) out(line);
  }
  return 0;
}

/** A row of `docker service ps`, with docker's field names (the `{{json .}}` keys). */
interface TaskRow {
  ID: string;
  Name: string;
  Image: string;
  Node: string;
  DesiredState: string;
  CurrentState: string;
  Error: string;
  Ports: string;
}

// source: https://docs.docker.com/reference/cli/docker/service/ps/ (columns ID NAME IMAGE NODE DESIRED STATE
// CURRENT STATE ERROR PORTS; "Running 5 seconds ago"; filters id, name, node, desired-state); a task the swarm
// replaces keeps running with desired state Shutdown until it has stopped (abra/tasks.ts)
function taskRows(apps: Record<string, SwarmApp>, service: string, now = Date.now()): TaskRow[] | undefined {
  for (const a of Object.values(apps)) {
    const svc = a.status === 'deployed' ? servicesOf(a).find((s) => `${a.stack}_${s.name}` === service) : undefined;
    if (!svc) continue;
    const row = (id: string, image: string, desired: string, current: string): TaskRow => ({
      ID: id.slice(0, 12),
      Name: `${service}.1`,
      Image: image,
      Node: 'hypha',
      DesiredState: desired,
      CurrentState: current,
      Error: '',
      Ports: '',
    });
    const rows: TaskRow[] = [];
    const lingering = svc.name === 'app' ? (a.lingering ?? []) : [];
    for (const t of lingering) {
      rows.push(row(t.id, t.image, t.goneAt ? 'Shutdown' : 'Running', `Running ${since(t.startedAt)} ago`));
    }
    if (wantedReplicas(a, svc.name) > 0 && !lingering.some((t) => !t.goneAt)) {
      const up = runningReplicas(a, svc.name, now) > 0;
      const id = swarmId('task', a.stack, svc.name, '1', a.deployedAt ?? '');
      rows.unshift(row(id, svc.image, 'Running', `${up ? 'Running' : 'Starting'} ${since(a.deployedAt ?? '')} ago`));
    }
    return rows;
  }
  return undefined;
}

function servicePs(file: string, args: string[]): number {
  const p = parseArgs(args, ['-q', '--quiet', '--no-trunc'], ['-f', '--filter', '--format']);
  const f = filters(p, ['desired-state', 'id', 'name', 'node']);
  if (!p.positionals.length) throw new UsageError('"docker service ps" requires at least 1 argument.');
  const apps = readSwarm(file).apps;
  const rows: TaskRow[] = [];
  for (const name of p.positionals) {
    const found = taskRows(apps, name);
    if (!found) throw new DaemonError(`no such service: ${name}`);
    rows.push(
      ...found.filter((r) => matches(f.get('desired-state'), (d) => d.toLowerCase() === r.DesiredState.toLowerCase())),
    );
  }
  const format = p.flags.get('--format')?.at(-1);
  if (has(p, '-q', '--quiet')) for (const r of rows) out(r.ID);
  else if (format === '{{json .}}' || format === 'json') for (const r of rows) out(JSON.stringify(r));
  else if (format !== undefined && format !== 'table')
    throw new UsageError(`the sandbox's docker formats service ps as a table or {{json .}} only, not ${format}`);
  else {
    const table = rows.map((r) => [r.ID, r.Name, r.Image, r.Node, r.DesiredState, r.CurrentState, r.Error, r.Ports]);
    const head = ['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'];
    for (const line of tabulate([head, ...table])) out(line);
  }
  return 0;
}

// source: https://docs.docker.com/reference/cli/docker/service/scale/ ("SERVICE scaled to N", then the
// convergence progress unless -d); an unknown service: "Error: No such service: NAME", exit 1
/** `docker service scale SERVICE=N...`: the replicas stay until the next `docker stack deploy` (an abra deploy). */
function serviceScale(file: string, args: string[]): number {
  const p = parseArgs(args, ['-d', '--detach'], []);
  if (!p.positionals.length) throw new UsageError('"docker service scale" requires at least 1 argument.');
  let code = 0;
  for (const spec of p.positionals) {
    const m = /^([^=]+)=(\d+)$/.exec(spec);
    if (!m) throw new UsageError(`invalid scale specifier '${spec}'.\nSee 'docker service scale --help'.`);
    const [name, n] = [m[1], Number(m[2])];
    const found = updateSwarm(file, (state) => {
      for (const a of Object.values(state.apps)) {
        const svc = servicesOf(a).find((s) => `${a.stack}_${s.name}` === name);
        if (a.status !== 'deployed' || !svc) continue;
        a.replicas = { ...a.replicas, [svc.name]: n };
        return true;
      }
      return false;
    });
    if (!found) {
      process.stderr.write(`${name}: Error: No such service: ${name}\n`);
      code = 1;
      continue;
    }
    out(`${name} scaled to ${n}`);
    if (!has(p, '-d', '--detach')) out(`overall progress: ${n} out of ${n} tasks \nverify: Service ${name} converged `);
  }
  return code;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === '-v') {
    out('Docker version 27.3.1, build ce12230');
    return 0;
  }
  const root = process.env.COOPCTL_SANDBOX_ROOT;
  if (!root) throw new Error("COOPCTL_SANDBOX_ROOT is unset: run the sandbox server's R/bin/docker");
  if (!daemonReachable(root)) {
    process.stderr.write(`${DOCKER_PERMISSION_DENIED}\n`);
    return 1;
  }
  const file = swarmPath(root);
  advanceSwarm(file);
  if (cmd === 'ps' || (cmd === 'container' && rest[0] === 'ls')) return ps(file, cmd === 'ps' ? rest : rest.slice(1));
  const plain = plainContainerCommand(root, argv);
  if (plain !== undefined) return plain;
  if (cmd === 'exec') return exec(file, rest);
  if (cmd === 'volume') return volumeCommand(root, rest);
  if (cmd === 'service' && (rest[0] === 'ls' || rest[0] === 'list')) return serviceLs(file, rest.slice(1));
  if (cmd === 'service' && rest[0] === 'scale') return serviceScale(file, rest.slice(1));
  if (cmd === 'service' && rest[0] === 'ps') return servicePs(file, rest.slice(1));
  throw new UsageError(
    `docker: '${argv.join(' ')}' is not a command the sandbox's swarm knows ` +
      '(ps, exec, service ls|ps|scale, volume inspect|ls, run, rm, info).',
  );
}

function logInvocation(root: string | undefined, argv: string[], code: number): void {
  if (!root) return;
  try {
    mkdirSync(path.join(root, 'log'), { recursive: true });
    appendFileSync(
      path.join(root, 'log', 'docker.log'),
      `${new Date().toISOString()} docker ${argv.join(' ')} -> ${code}\n`,
    );
  } catch {
    // logging is best effort
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureSystemPath();
  const argv = process.argv.slice(2);
  main(argv)
    .catch((err: unknown) => {
      const message = (err as Error).message;
      process.stderr.write(err instanceof DaemonError ? `Error response from daemon: ${message}\n` : `${message}\n`);
      return 1;
    })
    .then((code) => {
      logInvocation(process.env.COOPCTL_SANDBOX_ROOT, argv, code);
      process.exitCode = code;
    });
}
