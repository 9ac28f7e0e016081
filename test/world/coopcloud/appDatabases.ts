import path from 'node:path';
import { dbCluster, releaseMigrations } from '../../doubles/abra/appDb.js';
import { readSwarm, stackName, swarmPath, type SwarmDb } from '../../doubles/abra/swarm.js';
import { initAndStartCluster, psql, stopCluster } from '../postgres.js';
import { isRunning, readPid } from '../processes.js';
import { wikiPages } from '../mariadbSchemas.js';
import type { FixtureRecipe } from './recipes.js';

// source: coop-cloud/bonfire compose.postgres.yml (db: PostGIS, POSTGRES_DB bonfire_db). KINDER THAN PRODUCTION:
// on hypha Keycloak and MediaWiki run MariaDB (operators' notes, reference/production.md, P), which this sandbox
// cannot run (no mariadb-server here); their databases are PostgreSQL clusters in the sandbox. `coopctl doctor`
// must check each app's db engine before coopctl dumps it with PostgreSQL tools (see the i18 doubles report).
/** Each recipe's database (its `db` service's POSTGRES_DB) and the tables that hold its users' data. */
export const APP_DATABASES: Record<string, { name: string; tables: string[] }> = {
  bonfire: {
    name: 'bonfire_db',
    tables: ['pointers_pointer', 'bonfire_data_identity_user', 'bonfire_data_social_post_content'],
  },
  keycloak: { name: 'keycloak', tables: ['realm', 'user_entity', 'client'] },
  mediawiki: { name: 'mediawiki', tables: ['page', 'revision', 'text'] },
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

function keycloakSql(domain: string): string {
  return `CREATE TABLE realm (id varchar(36) PRIMARY KEY, name varchar(255) UNIQUE NOT NULL, enabled boolean NOT NULL);
CREATE TABLE user_entity (id varchar(36) PRIMARY KEY, username varchar(255) NOT NULL, email varchar(255),
  realm_id varchar(255) NOT NULL, enabled boolean NOT NULL, created_timestamp bigint);
CREATE TABLE client (id varchar(36) PRIMARY KEY, client_id varchar(255) NOT NULL, realm_id varchar(36) NOT NULL,
  enabled boolean NOT NULL, protocol varchar(255));
INSERT INTO realm VALUES ('3a1f0c52-master', 'master', true), ('8e2b7d11-socialcoop', 'social.coop', true);
INSERT INTO user_entity VALUES
  ('c0a8-0001', 'admin', NULL, '3a1f0c52-master', true, 1727787730000),
  ('c0a8-0002', 'alice', 'alice@social.coop', '8e2b7d11-socialcoop', true, 1727790000000),
  ('c0a8-0003', 'bob', 'bob@social.coop', '8e2b7d11-socialcoop', true, 1727800000000),
  ('c0a8-0004', 'carol', 'carol@social.coop', '8e2b7d11-socialcoop', false, 1727900000000);
INSERT INTO client VALUES
  ('f1d2-0001', 'bonfire', '8e2b7d11-socialcoop', true, 'openid-connect'),
  ('f1d2-0002', 'mediawiki', '8e2b7d11-socialcoop', true, 'openid-connect'),
  ('f1d2-0003', ${q(`https://${domain}/realms/social.coop/account`)}, '8e2b7d11-socialcoop', true, 'openid-connect');
`;
}

function mediawikiSql(domain: string): string {
  const pages = wikiPages(domain);
  return `CREATE TABLE page (page_id serial PRIMARY KEY, page_namespace int NOT NULL DEFAULT 0,
  page_title varchar(255) NOT NULL, page_latest int, page_touched timestamp NOT NULL DEFAULT now());
CREATE TABLE text (old_id serial PRIMARY KEY, old_text text NOT NULL, old_flags text NOT NULL DEFAULT 'utf-8');
CREATE TABLE revision (rev_id serial PRIMARY KEY, rev_page int NOT NULL REFERENCES page(page_id),
  rev_text_id int REFERENCES text(old_id), rev_timestamp timestamp NOT NULL DEFAULT now(), rev_comment text);
INSERT INTO page (page_title, page_latest) VALUES ${pages.map(([t], i) => `(${q(t)}, ${i + 1})`).join(', ')};
INSERT INTO text (old_text) VALUES ${pages.map(([, body]) => `(${q(body)})`).join(', ')};
INSERT INTO revision (rev_page, rev_text_id, rev_comment) VALUES
  ${pages.map((_, i) => `(${i + 1}, ${i + 1}, 'Created page')`).join(', ')};
`;
}

/** The schema and rows an app's database starts with, at the version the app runs. */
function seedSql(recipe: FixtureRecipe, domain: string, version: string): string {
  if (recipe.name === 'bonfire') {
    const upTo = recipe.releases.findIndex((r) => r.tag === version);
    return bonfireSql(recipe.releases.slice(0, upTo + 1).flatMap((r) => releaseMigrations(r.date)));
  }
  return recipe.name === 'keycloak' ? keycloakSql(domain) : mediawikiSql(domain);
}

/**
 * R/apps/<stack>/pg: one cluster per app, reached over its unix socket only (its `db` service). The sockets
 * share R/run, each on its own port: a socket path must stay short (PostgreSQL's limit is ~100 characters).
 */
export function appDb(root: string, domain: string, recipe: string, index: number): SwarmDb {
  const database = APP_DATABASES[recipe]?.name ?? fail(`no database is known for recipe ${recipe}`);
  return {
    dir: path.join(root, 'apps', stackName(domain), 'pg'),
    socketDir: path.join(root, 'run'),
    port: 5432 + index,
    database,
  };
}

function fail(message: string): never {
  throw new Error(message);
}

/** Creates, starts and seeds an app's cluster (idempotent: an existing database is kept). */
export async function createAppDatabase(
  db: SwarmDb,
  recipe: FixtureRecipe,
  domain: string,
  version: string,
): Promise<void> {
  const c = dbCluster(db);
  await initAndStartCluster(c);
  if (psql(c, `SELECT 1 FROM pg_database WHERE datname = ${q(db.database)}`).trim() === '1') return;
  psql(c, `CREATE DATABASE "${db.database}" TEMPLATE template0 ENCODING 'UTF8'`);
  psql(c, `BEGIN;\n${seedSql(recipe, domain, version)}COMMIT;`, db.database);
}

function appDbs(root: string): SwarmDb[] {
  return Object.values(readSwarm(swarmPath(root)).apps).flatMap((a) => (a.db ? [a.db] : []));
}

/** For `sandbox status`: each app's PostgreSQL, and where its socket is. */
export function appDatabaseProcesses(root: string): Array<{ what: string; running: boolean; where: string }> {
  return Object.entries(readSwarm(swarmPath(root)).apps).flatMap(([domain, a]) =>
    a.db
      ? [
          {
            what: `${domain} PostgreSQL (${a.db.database})`,
            running: isRunning(readPid(path.join(dbCluster(a.db).dataDir, 'postmaster.pid')) ?? -1),
            where: path.join(a.db.socketDir, `.s.PGSQL.${a.db.port}`),
          },
        ]
      : [],
  );
}

/** After a reboot (`sandbox up` again): every app's cluster, side by side. */
export async function startAppDatabases(root: string): Promise<void> {
  await Promise.all(appDbs(root).map((db) => initAndStartCluster(dbCluster(db))));
}

export function stopAppDatabases(root: string): void {
  for (const db of appDbs(root)) stopCluster(dbCluster(db));
}
