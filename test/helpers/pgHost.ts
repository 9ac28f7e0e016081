import { startLoopbackSshd } from './loopbackSshd.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DbTarget } from '../../src/backup/commands.js';
import type { SshPool, RemoteHost, SshTarget } from '../../src/remote/ssh.js';
import { clusterAt, initCluster, psql, startCluster, stopCluster, type PgCluster } from '../world/postgres.js';
import { readPid } from '../world/processes.js';
import { sshdFiles, stopSshd, type SshdSpec } from '../world/sshd.js';

/**
 * "A host with PostgreSQL": a real sshd on a loopback port whose sessions
 * reach a real PostgreSQL 15 cluster through its socket (PGHOST/PGUSER in the
 * session environment), so plain pg_dump/psql on the "host" work the way
 * they do on a container-less server. `bin` comes first on the session PATH:
 * tests put stand-ins there (a broken pg_dump, ...).
 */
export interface PgHost {
  root: string;
  cluster: PgCluster;
  bin: string;
  sshd: SshdSpec;
  target: SshTarget;
  /** For OpenSSH's own client (ssh -i identityFile -o UserKnownHostsFile=knownHosts). */
  identityFile: string;
  knownHosts: string;
  pool: SshPool;
  host: RemoteHost;
  db(name: string): DbTarget;
  psql(sql: string, db?: string): string;
  /** Kills the sshd processes serving current sessions: the connection drops as if the network went. */
  dropSessions(): void;
  stop(): Promise<void>;
}

export async function startPgHost(name = 'dbhost'): Promise<PgHost> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
  const cluster = clusterAt(path.join(root, 'pg'));
  initCluster(cluster);
  startCluster(cluster);
  const bin = path.join(root, 'bin');
  mkdirSync(bin);
  const env = {
    PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
    PGHOST: cluster.socketDir,
    PGPORT: String(cluster.port),
    PGUSER: 'postgres',
  };
  const ssh = await startLoopbackSshd(root, env, { commandTimeoutMs: 120_000, stallTimeoutMs: 60_000 });
  const { sshd, port, knownHosts, pool } = ssh;
  const target: SshTarget = { name, address: '127.0.0.1', port, user: os.userInfo().username };
  return {
    root,
    cluster,
    bin,
    sshd,
    target,
    identityFile: ssh.identityFile,
    knownHosts,
    pool,
    host: pool.host(target),
    db: (db) => ({ name: db, user: 'postgres' }),
    psql: (sql, db = 'postgres') => psql(cluster, sql, db),
    dropSessions() {
      const master = readPid(sshdFiles(sshd.dir).pidFile);
      if (master === undefined) throw new Error('sshd is not running');
      const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(master)])
        .toString()
        .split('\n')
        .map(Number)
        .filter((p) => p > 0);
      for (const pid of children) process.kill(pid, 'SIGKILL');
    },
    async stop() {
      await pool.closeAll();
      await stopSshd(sshd.dir);
      stopCluster(cluster);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A small Mastodon-shaped database: accounts, users and statuses with known
 * row counts, plus `media` holding incompressible bytes so a dump is big
 * enough to interrupt (mb megabytes).
 */
export function seedMastodonLike(
  h: PgHost,
  db: string,
  opts: { accounts?: number; statuses?: number; mb?: number } = {},
): Record<string, number> {
  const accounts = opts.accounts ?? 300;
  const statuses = opts.statuses ?? 4000;
  const users = Math.floor(accounts / 2);
  const mb = opts.mb ?? 8;
  h.psql(`CREATE DATABASE ${db}`);
  h.psql(
    `CREATE TABLE accounts (id bigserial PRIMARY KEY, username text NOT NULL, domain text, note text);
     CREATE TABLE users (id bigserial PRIMARY KEY, account_id bigint REFERENCES accounts(id), email text UNIQUE);
     CREATE TABLE statuses (id bigserial PRIMARY KEY, account_id bigint REFERENCES accounts(id), text text, created_at timestamptz DEFAULT now());
     CREATE TABLE media (id bigserial PRIMARY KEY, data bytea);
     INSERT INTO accounts (username, domain, note) SELECT 'user' || i, CASE WHEN i % 3 = 0 THEN 'example.org' END, 'bio of ' || i FROM generate_series(1, ${accounts}) i;
     INSERT INTO users (account_id, email) SELECT i, 'user' || i || '@social.coop' FROM generate_series(1, ${users}) i;
     INSERT INTO statuses (account_id, text) SELECT 1 + i % ${accounts}, 'Toot number ' || i || ' about co-operatives' FROM generate_series(1, ${statuses}) i;
     INSERT INTO media (data) SELECT decode(string_agg(md5(random()::text || i || j), ''), 'hex') FROM generate_series(1, ${mb * 64}) i, generate_series(1, 1024) j GROUP BY i;`,
    db,
  );
  return { accounts, statuses, users };
}

/**
 * A `docker` stand-in on the host's PATH for `docker compose -f DIR/docker-compose.yml
 * --project-directory DIR exec -T db CMD...`: checks the invocation and runs CMD "in the container" (on the
 * host, which reaches the cluster). Each call is appended to the returned log file.
 */
export function installComposeStandIn(h: PgHost): { log: string; remove(): void } {
  const log = path.join(h.root, 'docker-calls.log');
  const file = path.join(h.bin, 'docker');
  writeFileSync(
    file,
    `#!/bin/sh
echo "$*" >> ${log}
[ "$1" = compose ] && [ "$2" = -f ] && [ "$4" = --project-directory ] && [ "$3" = "$5/docker-compose.yml" ] && [ -d "$5" ] && [ "$6" = exec ] && [ "$7" = -T ] && [ "$8" = db ] || { echo "unexpected: docker $*" >&2; exit 125; }
shift 8
exec "$@"
`,
    { mode: 0o755 },
  );
  return { log, remove: () => rmSync(file, { force: true }) };
}
