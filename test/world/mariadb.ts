import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './net.js';
import { readPid, spawnDetached, stopPidFile } from './processes.js';

/**
 * A real MariaDB server (Debian's mariadb-server, 10.11 on bookworm: reference/production.md) for an app's `db`
 * service or a throw-away restore test: its own datadir, a unix socket and a loopback port, run as `mysql` when we
 * are root (mariadbd refuses root without --user).
 */
export interface MariaDbServer {
  /** data/, mariadbd.log, mariadbd.pid */
  dir: string;
  /** A unix socket path: at most ~100 characters (sun_path). */
  socket: string;
  port: number;
}

/** The users the image's entrypoint creates from the container's environment; every password a real one. */
export interface MariaDbUsers {
  rootPassword: string;
  /** MYSQL_DATABASE / MYSQL_USER / MYSQL_PASSWORD: the app's database and its owner. */
  database?: string;
  user?: string;
  password?: string;
}

const isRoot = () => process.getuid?.() === 0;
const execFileAsync = promisify(execFile);

export const MARIADBD = process.env.COOPCTL_MARIADBD ?? '/usr/sbin/mariadbd';

const dataDir = (s: MariaDbServer) => path.join(s.dir, 'data');
// its own tmpdir: servers installed side by side (and other runs' on this machine) never share /tmp's #sql files
const tmpDir = (s: MariaDbServer) => path.join(s.dir, 'tmp');
export const mariadbPidFile = (s: MariaDbServer) => path.join(s.dir, 'mariadbd.pid');

// Small redo log and buffer pool: a sandbox runs several servers side by side on a small machine.
const SERVER_FLAGS = ['--innodb-log-file-size=16M', '--innodb-buffer-pool-size=32M', '--skip-log-bin'];

function mysqlOwner(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'mysql']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** mysql must be able to reach its directories: give ancestors we own o+x (traverse only). */
function allowTraverse(dir: string): void {
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const st = statSync(d);
    if ((st.mode & 0o001) === 0 && st.uid === process.getuid?.()) chmodSync(d, st.mode | 0o001);
  }
}

function prepare(s: MariaDbServer): boolean {
  if (s.socket.length > 100) throw new Error(`MariaDB socket path too long (${s.socket.length} > 100): ${s.socket}`);
  mkdirSync(dataDir(s), { recursive: true, mode: 0o700 });
  mkdirSync(tmpDir(s), { recursive: true, mode: 0o700 });
  mkdirSync(path.dirname(s.socket), { recursive: true });
  const owner = mysqlOwner();
  if (owner) {
    allowTraverse(dataDir(s));
    for (const d of [s.dir, dataDir(s), tmpDir(s)]) chownSync(d, owner.uid, owner.gid);
    const sockDir = statSync(path.dirname(s.socket));
    if ((sockDir.mode & 0o003) !== 0o003) chmodSync(path.dirname(s.socket), sockDir.mode | 0o1733);
  }
  return existsSync(path.join(dataDir(s), 'mysql'));
}

const userFlag = () => (isRoot() ? ['--user=mysql'] : []);

// source: MariaDB/mariadb-docker 10.11/docker-entrypoint.sh docker_init_database_dir (mariadb-install-db
// --datadir --auth-root-authentication-method=normal --skip-test-db): root@localhost starts without a password,
// which docker_setup_db then sets from MARIADB_ROOT_PASSWORD
function installArgv(s: MariaDbServer): string[] {
  return [
    'mariadb-install-db',
    '--no-defaults',
    ...userFlag(),
    `--datadir=${dataDir(s)}`,
    `--tmpdir=${tmpDir(s)}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    ...SERVER_FLAGS,
  ];
}

function serverArgv(s: MariaDbServer): string[] {
  return [
    MARIADBD,
    '--no-defaults',
    ...userFlag(),
    `--datadir=${dataDir(s)}`,
    `--tmpdir=${tmpDir(s)}`,
    `--socket=${s.socket}`,
    `--port=${s.port}`,
    '--skip-networking=0',
    '--bind-address=127.0.0.1',
    `--pid-file=${path.join(s.dir, 'mariadbd.server.pid')}`,
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_unicode_ci',
    ...SERVER_FLAGS,
  ];
}

/** The client as root over the socket, the password in its environment (never in its argv). */
export function mariadbClient(
  s: MariaDbServer,
  password: string,
  database?: string,
  user = 'root',
): { argv: string[]; env: NodeJS.ProcessEnv } {
  return {
    argv: [
      'mariadb',
      '--no-defaults',
      `--socket=${s.socket}`,
      `--user=${user}`,
      '--batch',
      '--skip-column-names',
      ...(database ? [`--database=${database}`] : []),
    ],
    env: { ...process.env, MYSQL_PWD: password },
  };
}

/** Runs SQL as `user`; returns the tab-separated rows. */
export function mariadbSql(s: MariaDbServer, password: string, sql: string, database?: string, user = 'root'): string {
  const c = mariadbClient(s, password, database, user);
  return execFileSync(c.argv[0], c.argv.slice(1), { env: c.env, input: sql, stdio: ['pipe', 'pipe', 'pipe'] })
    .toString()
    .trimEnd();
}

const literal = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

// source: MariaDB/mariadb-docker 10.11/docker-entrypoint.sh docker_setup_db: root@localhost gets
// MARIADB_ROOT_PASSWORD; MARIADB_DATABASE is created and MARIADB_USER@'%' gets ALL on it with MARIADB_PASSWORD
function setupSql(u: MariaDbUsers): string {
  const app =
    u.database && u.user && u.password
      ? `CREATE DATABASE IF NOT EXISTS \`${u.database}\`;
CREATE USER IF NOT EXISTS ${literal(u.user)}@'%' IDENTIFIED BY ${literal(u.password)};
GRANT ALL ON \`${u.database}\`.* TO ${literal(u.user)}@'%';
`
      : '';
  return `DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';
ALTER USER 'root'@'localhost' IDENTIFIED BY ${literal(u.rootPassword)};
${app}FLUSH PRIVILEGES;
`;
}

async function answers(s: MariaDbServer, password: string): Promise<boolean> {
  const c = mariadbClient(s, password);
  return execFileAsync(c.argv[0], [...c.argv.slice(1), '-e', 'SELECT 1'], { env: c.env }).then(
    () => true,
    () => false,
  );
}

/**
 * mariadb-install-db once, then mariadbd (unless its pid file names a running server); on the first start root's
 * password and the app's user are set as the image's entrypoint sets them. Several servers come up side by side.
 */
export async function initAndStartMariaDb(s: MariaDbServer, users: MariaDbUsers): Promise<void> {
  const fresh = !prepare(s);
  if (fresh) {
    const [cmd, ...args] = installArgv(s);
    await execFileAsync(cmd, args);
  }
  const pid = readPid(mariadbPidFile(s));
  if (pid === undefined || !(await answers(s, fresh ? '' : users.rootPassword))) {
    spawnDetached(serverArgv(s), { log: path.join(s.dir, 'mariadbd.log'), pidFile: mariadbPidFile(s) });
    await waitFor(
      `MariaDB on ${s.socket}`,
      async () => {
        if (!(await answers(s, fresh ? '' : users.rootPassword))) throw new Error('no answer yet');
      },
      60_000,
      100,
    );
  }
  if (fresh) {
    const c = mariadbClient(s, '');
    await new Promise<void>((resolve, reject) => {
      const child = execFile(c.argv[0], c.argv.slice(1), { env: c.env }, (err) => (err ? reject(err) : resolve()));
      child.stdin?.end(setupSql(users));
    });
    writeFileSync(path.join(s.dir, 'initialized'), '');
  }
}

export async function stopMariaDb(s: MariaDbServer): Promise<void> {
  await stopPidFile(mariadbPidFile(s), 30_000);
}
