import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mariadbClient, mariadbSql, type MariaDbServer, type MariaDbUsers } from '../../world/mariadb.js';
import { pgEnv, psql, type PgCluster } from '../../world/postgres.js';
import type { SwarmDb } from './swarm.js';

// source: coop-cloud/bonfire compose.yml (`DISABLE_DB_AUTOMIGRATION` passed to the app; migrations on boot:
// reference/abra.md); elixir-ecto/ecto_sql lib/ecto/migration/schema_migration.ex (schema_migrations: version,
// inserted_at). Never migrating down on a rollback is Ecto's: migrations run only forward on boot.
/**
 * What an app's boot does to its database in the sandbox. Bonfire (Ecto) migrates on boot unless
 * DISABLE_DB_AUTOMIGRATION is set, and never migrates down: a rollback leaves the newer rows.
 */
export const MIGRATES_ON_BOOT: readonly string[] = ['bonfire'];

/** Ecto's `schema_migrations` versions a release brings: two, written in the days before its release date. */
export function releaseMigrations(releaseDate: string): string[] {
  const at = Date.parse(releaseDate);
  if (Number.isNaN(at)) throw new Error(`not a release date: ${releaseDate}`);
  return [3, 1].map((days) => new Date(at - days * 86_400_000).toISOString().slice(0, 19).replace(/[-T:]/g, ''));
}

/** The cluster behind an app's `db`: data and log under its own directory, its socket where swarm.json says. */
export function dbCluster(db: SwarmDb): PgCluster {
  return {
    dataDir: path.join(db.dir, 'data'),
    socketDir: db.socketDir,
    port: db.port,
    logFile: path.join(db.dir, 'postgres.log'),
  };
}

export const isMariaDb = (db: SwarmDb) => db.engine === 'mariadb';

/** The MariaDB server behind an app's `db`: data and log under its own directory, its socket where swarm.json says. */
export function dbServer(db: SwarmDb): MariaDbServer {
  if (!db.socket) throw new Error(`${db.dir}: a MariaDB db without a socket in swarm.json`);
  return { dir: db.dir, socket: db.socket, port: db.port };
}

// source: https://docs.docker.com/engine/swarm/secrets/ (a service's secret is a file /run/secrets/<name> in its
// containers); the recipes' `db` (test/fixtures/recipes/{keycloak,mediawiki}: db_root_password, db_password)
/** The file standing for /run/secrets/<name> in the app's `db` container. */
export function dbSecretFile(db: SwarmDb, name: 'db_root_password' | 'db_password'): string {
  if (!db.secrets) throw new Error(`${db.dir}: a MariaDB db without secrets in swarm.json`);
  return path.join(db.secrets, name);
}

/** The users the image's entrypoint made from the container's environment and secrets. */
export function dbUsers(db: SwarmDb): MariaDbUsers {
  return {
    rootPassword: readFileSync(dbSecretFile(db, 'db_root_password'), 'utf8'),
    database: db.database,
    user: db.user,
    password: readFileSync(dbSecretFile(db, 'db_password'), 'utf8'),
  };
}

// source: the fixture recipes' pre-hooks (coop-cloud/bonfire compose.postgres.yml `pg_dump ... > backup.sql`;
// test/fixtures/recipes/{keycloak,mediawiki} `mariadb-dump --single-transaction -u root ... > dump.sql`)
/** The recipe's pre-hook dump of the app's database, written to `fd`. */
export function dumpAppDatabase(db: SwarmDb, fd: number): void {
  const stdio: ['ignore', number, 'pipe'] = ['ignore', fd, 'pipe'];
  if (!isMariaDb(db)) {
    execFileSync('pg_dump', ['-d', db.database], { env: { ...process.env, ...pgEnv(dbCluster(db)) }, stdio });
    return;
  }
  const c = mariadbClient(dbServer(db), dbUsers(db).rootPassword);
  const argv = ['--no-defaults', `--socket=${dbServer(db).socket}`, '--user=root', '--single-transaction', db.database];
  execFileSync('mariadb-dump', argv, { env: c.env, stdio });
}

/** The recipe's restore post-hook: the dump file loaded into the (emptied) app database. */
export function loadAppDump(db: SwarmDb, file: string): void {
  const input = readFileSync(file);
  if (!isMariaDb(db)) {
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db.database, '-f', file], {
      env: { ...process.env, ...pgEnv(dbCluster(db)) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return;
  }
  const c = mariadbClient(dbServer(db), dbUsers(db).rootPassword, db.database);
  execFileSync(c.argv[0], c.argv.slice(1), { env: c.env, input, stdio: ['pipe', 'ignore', 'pipe'] });
}

function dbSql(db: SwarmDb, sql: string): string {
  return psql(dbCluster(db), sql, db.database);
}

/** Inserts the versions Ecto finds missing, as `mix ecto.migrate` does on boot. */
export function migrate(db: SwarmDb, versions: readonly string[]): void {
  if (!versions.length) return;
  const rows = versions.map((v) => `(${Number(v)}, now())`).join(', ');
  dbSql(db, `INSERT INTO schema_migrations (version, inserted_at) VALUES ${rows} ON CONFLICT DO NOTHING`);
}

// source: coop-cloud/bonfire compose.postgres.yml (restore post-hook recreates the db from backup.sql) and the
// operators' notes (reference/production.md, P): an empty pre-hook dump "succeeds", so its restore empties the db
/** What a restore post-hook does with an empty dump file: drop the database, create it empty, load nothing. */
export function emptyDatabase(db: SwarmDb): void {
  if (isMariaDb(db)) {
    // source: the recipes' restore post-hook (`mariadb ... < dump.sql` into the database MYSQL_DATABASE named);
    // harsher reading: the database is emptied as on PostgreSQL, whatever the hook would have left
    const name = `\`${db.database}\``;
    mariadbSql(dbServer(db), dbUsers(db).rootPassword, `DROP DATABASE IF EXISTS ${name};\nCREATE DATABASE ${name};`);
    return;
  }
  const cluster = dbCluster(db);
  psql(cluster, `DROP DATABASE IF EXISTS "${db.database}" WITH (FORCE)`);
  psql(cluster, `CREATE DATABASE "${db.database}" TEMPLATE template0 ENCODING 'UTF8'`);
}
