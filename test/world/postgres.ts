import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * A throwaway PostgreSQL 15 cluster for the sandbox and the tests: unix
 * socket only (works across network namespaces, needs no port), trust auth,
 * run as `postgres` when we are root (initdb refuses root).
 */
export interface PgCluster {
  dataDir: string;
  socketDir: string;
  port: number;
  logFile: string;
}

export const PG_BIN = process.env.COOPCTL_PG_BIN ?? '/usr/lib/postgresql/15/bin';

const isRoot = () => process.getuid?.() === 0;

function pgUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/** argv that runs a PostgreSQL server binary as the cluster's owner. */
export function asOwner(bin: string, args: string[]): [string, string[]] {
  return isRoot()
    ? ['/usr/sbin/runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args]]
    : [path.join(PG_BIN, bin), args];
}

/** postgres must be able to traverse to its directories: give ancestors o+x (traverse only). */
function allowTraverse(dir: string): void {
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const st = statSync(d);
    if ((st.mode & 0o001) === 0 && st.uid === process.getuid?.()) chmodSync(d, st.mode | 0o001);
  }
}

export function clusterAt(root: string, port = 5432): PgCluster {
  return {
    dataDir: path.join(root, 'data'),
    socketDir: path.join(root, 'run'),
    port,
    logFile: path.join(root, 'postgres.log'),
  };
}

export function pgEnv(c: PgCluster): Record<string, string> {
  return { PGHOST: c.socketDir, PGPORT: String(c.port), PGUSER: 'postgres' };
}

/** Directories and their owner; true when the cluster exists already (initdb is not run again). */
function prepareCluster(c: PgCluster): boolean {
  const sock = path.join(c.socketDir, `.s.PGSQL.${c.port}`);
  if (sock.length > 100) throw new Error(`PostgreSQL socket path too long (${sock.length} > 100): use a shorter --dir`);
  mkdirSync(c.dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(c.socketDir, { recursive: true });
  const owner = pgUser();
  if (owner) {
    allowTraverse(c.dataDir);
    for (const d of [path.dirname(c.dataDir), c.dataDir, c.socketDir]) chownSync(d, owner.uid, owner.gid);
  }
  return existsSync(path.join(c.dataDir, 'PG_VERSION'));
}

function initdb(c: PgCluster): [string, string[]] {
  return asOwner('initdb', [
    '-D',
    c.dataDir,
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
}

function configure(c: PgCluster): void {
  appendFileSync(
    path.join(c.dataDir, 'postgresql.conf'),
    [
      "listen_addresses = ''",
      `unix_socket_directories = '${c.socketDir}'`,
      `port = ${c.port}`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'shared_buffers = 64MB',
      'max_connections = 40',
      '',
    ].join('\n'),
  );
}

export function initCluster(c: PgCluster): void {
  if (prepareCluster(c)) return;
  const [cmd, args] = initdb(c);
  execFileSync(cmd, args, { stdio: 'pipe' });
  configure(c);
}

/** pg_ctl start, unless the pid file names a running server; the log file belongs to the cluster's owner. */
function startSteps(c: PgCluster): { status?: [string, string[]]; start: [string, string[]] } {
  const owner = pgUser();
  if (!existsSync(c.logFile)) appendFileSync(c.logFile, '');
  if (owner) chownSync(c.logFile, owner.uid, owner.gid);
  return {
    // a stale pid file: pg_ctl start handles it
    status: existsSync(path.join(c.dataDir, 'postmaster.pid'))
      ? asOwner('pg_ctl', ['-D', c.dataDir, 'status'])
      : undefined,
    start: asOwner('pg_ctl', ['-D', c.dataDir, '-l', c.logFile, '-w', '-t', '60', 'start']),
  };
}

export function startCluster(c: PgCluster): void {
  const { status, start } = startSteps(c);
  if (status) {
    try {
      execFileSync(status[0], status[1], { stdio: 'pipe' });
      return;
    } catch {
      // not running: start it
    }
  }
  execFileSync(start[0], start[1], { stdio: 'pipe' });
}

const execFileAsync = promisify(execFile);

/** initCluster then startCluster, without blocking: several clusters come up side by side. */
export async function initAndStartCluster(c: PgCluster): Promise<void> {
  if (!prepareCluster(c)) {
    const [cmd, args] = initdb(c);
    await execFileAsync(cmd, args);
    configure(c);
  }
  const { status, start } = startSteps(c);
  if (
    status &&
    (await execFileAsync(status[0], status[1]).then(
      () => true,
      () => false,
    ))
  )
    return;
  await execFileAsync(start[0], start[1]);
}

export function stopCluster(c: PgCluster): void {
  if (!existsSync(path.join(c.dataDir, 'postmaster.pid'))) return;
  const [cmd, args] = asOwner('pg_ctl', ['-D', c.dataDir, '-m', 'fast', '-w', 'stop']);
  try {
    execFileSync(cmd, args, { stdio: 'pipe' });
  } catch {
    // already stopped
  }
}

/** Runs SQL through psql; returns unaligned, tuples-only output. */
export function psql(c: PgCluster, sql: string, db = 'postgres'): string {
  return execFileSync('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-At', '-d', db, '-c', sql], {
    env: { ...process.env, ...pgEnv(c) },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}
