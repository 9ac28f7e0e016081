import { startLoopbackSshd } from './loopbackSshd.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SshPool, RemoteHost } from '../../src/remote/ssh.js';
import { initAndStartMariaDb, type MariaDbServer, mariadbSql, stopMariaDb } from '../world/mariadb.js';
import { freePort } from '../world/net.js';
import { type SshdSpec, stopSshd } from '../world/sshd.js';

/**
 * "A host whose sessions are a MariaDB container's": a real MariaDB 10.11 server and a real sshd whose sessions get
 * the environment `docker exec` gives in the app's `db` container: the root password only there, as a file
 * (MYSQL_ROOT_PASSWORD_FILE, as Docker secrets give it), the server on the client's default socket (MYSQL_UNIX_PORT
 * through $MYSQL_HOME/my.cnf). `bin` comes first on the session PATH: tests put stand-ins there.
 */
export interface MariaDbHost {
  root: string;
  server: MariaDbServer;
  rootPassword: string;
  bin: string;
  /** The sessions' environment (what host/mariadb-client.sh sees). */
  env: NodeJS.ProcessEnv;
  sshd: SshdSpec;
  identityFile: string;
  knownHosts: string;
  pool: SshPool;
  host: RemoteHost;
  /** The same host reached through another port (a relay in front of sshd). */
  via(port: number): RemoteHost;
  sql(query: string, database?: string): string;
  /** The sshd only (a host that set up its own server keeps it). */
  stop(): Promise<void>;
}

export async function startMariaDbHost(o: {
  rootPassword: string;
  database: string;
  user: string;
  password: string;
  name?: string;
  root?: string;
}): Promise<MariaDbHost> {
  const root = o.root ?? mkdtempSync(path.join(os.tmpdir(), 'coopctl-mdb-'));
  const server = { dir: path.join(root, 'db'), socket: path.join(root, 'mysqld.sock'), port: await freePort() };
  await initAndStartMariaDb(server, {
    rootPassword: o.rootPassword,
    database: o.database,
    user: o.user,
    password: o.password,
  });
  writeFileSync(path.join(root, 'db_root_password'), o.rootPassword, { mode: 0o600 });
  // $MYSQL_HOME/my.cnf is read after /etc/mysql/my.cnf: the server's socket is the client's default, as in its image
  writeFileSync(path.join(root, 'my.cnf'), `[client-server]\nsocket=${server.socket}\n`);
  const bin = path.join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  const env = {
    PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
    HOME: root,
    MYSQL_HOME: root,
    MYSQL_ROOT_PASSWORD_FILE: path.join(root, 'db_root_password'),
  };
  const {
    sshd,
    port,
    hostKey: pub,
    identityFile,
    knownHosts,
    pool,
  } = await startLoopbackSshd(root, env, {
    commandTimeoutMs: 600_000,
    stallTimeoutMs: 120_000,
  });
  const name = o.name ?? 'hypha';
  const via = (p: number) => {
    writeFileSync(knownHosts, `[127.0.0.1]:${p} ${pub}\n`, { flag: 'a' });
    return pool.host({ name, address: '127.0.0.1', port: p, user: os.userInfo().username });
  };
  return {
    root,
    server,
    rootPassword: o.rootPassword,
    bin,
    env,
    sshd,
    identityFile,
    knownHosts,
    pool,
    host: pool.host({ name, address: '127.0.0.1', port, user: os.userInfo().username }),
    via,
    sql: (query, database) => mariadbSql(server, o.rootPassword, query, database),
    async stop() {
      await pool.closeAll();
      await stopSshd(sshd.dir);
    },
  };
}

/** Stops the host's sshd and its MariaDB server, and removes its directory. */
export async function removeMariaDbHost(h: MariaDbHost): Promise<void> {
  await h.stop();
  await stopMariaDb(h.server);
  rmSync(h.root, { recursive: true, force: true });
}
