import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dbCluster, dbSecretFile, dbServer, dbUsers, isMariaDb, releaseMigrations } from '../../doubles/abra/appDb.js';
import { readSwarm, stackName, swarmPath, type SwarmDb } from '../../doubles/abra/swarm.js';
import { initAndStartMariaDb, mariadbPidFile, mariadbSql, stopMariaDb } from '../mariadb.js';
import { keycloakMariaDbSql, mediawikiMariaDbSql } from '../mariadbSchemas.js';
import { freePort } from '../net.js';
import { initAndStartCluster, psql, stopCluster } from '../postgres.js';
import { isRunning, readPid } from '../processes.js';
import type { FixtureRecipe } from './recipes.js';

// source: coop-cloud/bonfire compose.postgres.yml (db: PostGIS, POSTGRES_DB bonfire_db); reference/production.md
// (hypha: Keycloak and MediaWiki on MariaDB); the fixture recipes' `db` (mariadb:10.11, MYSQL_DATABASE keycloak /
// mediawiki, MYSQL_USER the same). Each `db` is a real server of its engine: Debian's PostgreSQL 15 for Bonfire,
// Debian's mariadb-server 10.11 for the others.
/** Each recipe's database (its `db` service's POSTGRES_DB or MYSQL_DATABASE) and the tables of its users' data. */
export const APP_DATABASES: Record<string, { engine: 'postgres' | 'mariadb'; name: string; tables: string[] }> = {
  bonfire: {
    engine: 'postgres',
    name: 'bonfire_db',
    tables: ['pointers_pointer', 'bonfire_data_identity_user', 'bonfire_data_social_post_content'],
  },
  keycloak: { engine: 'mariadb', name: 'keycloak', tables: ['REALM', 'USER_ENTITY', 'CREDENTIAL'] },
  mediawiki: { engine: 'mariadb', name: 'mediawiki', tables: ['page', 'revision', 'text', 'user'] },
};

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** A ULID-shaped id (Bonfire's pointers), fixed per name. */
function ulid(n: number): string {
  return `01J2XK${String(n).padStart(20, '0')}`;
}

function bonfireSql(migrations: readonly string[]): string {
  const users = ['admin', 'alice', 'bob', 'carol'];
  const posts = [
    'Hello from the social.coop Bonfire!',
    'The Tech Working Group is testing circles and boundaries this week.',
    'Federation with the Mastodon instance works both ways now.',
  ];
  const pointer = (i: number, table: string) => `(${q(ulid(i))}, ${q(table)})`;
  return `CREATE TABLE schema_migrations (version bigint PRIMARY KEY, inserted_at timestamp(0));
CREATE TABLE pointers_pointer (id char(26) PRIMARY KEY, table_id char(26) NOT NULL, deleted_at timestamp);
CREATE TABLE bonfire_data_identity_user (id char(26) PRIMARY KEY REFERENCES pointers_pointer(id),
  inserted_at timestamp NOT NULL DEFAULT now());
CREATE TABLE bonfire_data_social_post_content (id char(26) PRIMARY KEY REFERENCES pointers_pointer(id),
  name text, summary text, html_body text);
INSERT INTO schema_migrations VALUES ${migrations.map((v) => `(${v}, now())`).join(', ')};
INSERT INTO pointers_pointer (id, table_id) VALUES
  ${[...users.map((_, i) => pointer(i + 1, '5EVSER1S0STENS1B1YHVMAN01')), ...posts.map((_, i) => pointer(i + 101, '30NF1REP0STC0NTENT0F1REPST'))].join(',\n  ')};
INSERT INTO bonfire_data_identity_user (id) VALUES ${users.map((_, i) => `(${q(ulid(i + 1))})`).join(', ')};
INSERT INTO bonfire_data_social_post_content (id, html_body) VALUES
  ${posts.map((p, i) => `(${q(ulid(i + 101))}, ${q(`<p>${p}</p>`)})`).join(',\n  ')};
`;
}

/** The schema and rows an app's database starts with, at the version the app runs. */
function seedSql(recipe: FixtureRecipe, domain: string, version: string): string {
  if (recipe.name === 'bonfire') {
    const upTo = recipe.releases.findIndex((r) => r.tag === version);
    return bonfireSql(recipe.releases.slice(0, upTo + 1).flatMap((r) => releaseMigrations(r.date)));
  }
  return recipe.name === 'keycloak' ? keycloakMariaDbSql(domain) : mediawikiMariaDbSql(domain);
}

/**
 * R/apps/<stack>/pg (PostgreSQL) or R/apps/<stack>/mariadb: one server per app (its `db` service). The sockets
 * share R/run, named by the app's index: a socket path must stay short (sun_path holds ~100 characters). A MariaDB
 * server also listens on a free loopback port, as the image's does on 3306 inside the stack's network.
 */
export async function appDb(root: string, domain: string, recipe: string, index: number): Promise<SwarmDb> {
  const known = APP_DATABASES[recipe] ?? fail(`no database is known for recipe ${recipe}`);
  const dir = path.join(root, 'apps', stackName(domain));
  const socketDir = path.join(root, 'run');
  if (known.engine === 'postgres')
    return { engine: 'postgres', dir: path.join(dir, 'pg'), socketDir, port: 5432 + index, database: known.name };
  return {
    engine: 'mariadb',
    dir: path.join(dir, 'mariadb'),
    socketDir,
    socket: path.join(socketDir, `mysqld-${index}.sock`),
    port: await freePort(),
    database: known.name,
    // source: the fixture recipes' `db` (MYSQL_USER is the recipe's name, as its database)
    user: recipe,
    secrets: path.join(dir, 'secrets'),
  };
}

function fail(message: string): never {
  throw new Error(message);
}

/**
 * Docker's secrets, made once: random, never in swarm.json. Harsher than `abra app secret generate`'s letters and
 * digits: an operator may `abra app secret insert` any text, so each holds quotes, a `$`, a backslash and a space.
 */
function writeSecrets(db: SwarmDb): void {
  mkdirSync(db.secrets!, { recursive: true, mode: 0o700 });
  for (const name of ['db_root_password', 'db_password'] as const) {
    const file = dbSecretFile(db, name);
    const secret = `${randomBytes(12).toString('base64url')} "'$x\\`;
    if (!existsSync(file)) writeFileSync(file, secret, { mode: 0o400 });
  }
}

/** Creates, starts and seeds an app's server (idempotent: an existing database is kept). */
export async function createAppDatabase(
  db: SwarmDb,
  recipe: FixtureRecipe,
  domain: string,
  version: string,
): Promise<void> {
  if (isMariaDb(db)) {
    mkdirSync(db.dir, { recursive: true });
    writeSecrets(db);
    // The image's client finds the server on its compiled-in socket; here $MYSQL_HOME/my.cnf says where it is.
    writeFileSync(path.join(db.dir, 'my.cnf'), `[client-server]\nsocket=${db.socket}\n`);
    const users = dbUsers(db);
    await initAndStartMariaDb(dbServer(db), users);
    const tables = `SELECT count(*) FROM information_schema.tables WHERE table_schema = ${q(db.database)}`;
    if (mariadbSql(dbServer(db), users.rootPassword, tables) !== '0') return;
    mariadbSql(dbServer(db), users.rootPassword, seedSql(recipe, domain, version), db.database);
    return;
  }
  const c = dbCluster(db);
  await initAndStartCluster(c);
  if (psql(c, `SELECT 1 FROM pg_database WHERE datname = ${q(db.database)}`).trim() === '1') return;
  psql(c, `CREATE DATABASE "${db.database}" TEMPLATE template0 ENCODING 'UTF8'`);
  psql(c, `BEGIN;\n${seedSql(recipe, domain, version)}COMMIT;`, db.database);
}

function appDbs(root: string): SwarmDb[] {
  return Object.values(readSwarm(swarmPath(root)).apps).flatMap((a) => (a.db ? [a.db] : []));
}

/** For `sandbox status`: each app's database server, and where its socket is. */
export function appDatabaseProcesses(root: string): Array<{ what: string; running: boolean; where: string }> {
  return Object.entries(readSwarm(swarmPath(root)).apps).flatMap(([domain, a]) => {
    if (!a.db) return [];
    if (isMariaDb(a.db))
      return [
        {
          what: `${domain} MariaDB (${a.db.database})`,
          running: isRunning(readPid(mariadbPidFile(dbServer(a.db))) ?? -1),
          where: `${a.db.socket} (127.0.0.1:${a.db.port})`,
        },
      ];
    return [
      {
        what: `${domain} PostgreSQL (${a.db.database})`,
        running: isRunning(readPid(path.join(dbCluster(a.db).dataDir, 'postmaster.pid')) ?? -1),
        where: path.join(a.db.socketDir, `.s.PGSQL.${a.db.port}`),
      },
    ];
  });
}

/** After a reboot (`sandbox up` again): every app's server, side by side. */
export async function startAppDatabases(root: string): Promise<void> {
  await Promise.all(
    appDbs(root).map((db) =>
      isMariaDb(db) ? initAndStartMariaDb(dbServer(db), dbUsers(db)) : initAndStartCluster(dbCluster(db)),
    ),
  );
}

export async function stopAppDatabases(root: string): Promise<void> {
  await Promise.all(
    appDbs(root).map(async (db) => (isMariaDb(db) ? stopMariaDb(dbServer(db)) : stopCluster(dbCluster(db)))),
  );
}
