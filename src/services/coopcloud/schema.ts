import { ToolOutputError } from '../../kernel/errors.js';
import { mariadbSqlCommand } from '../../backup/mariadb.js';
import type { DbTarget } from '../../backup/commands.js';
import { psqlQuery } from '../../remote/compose.js';
import type { RemoteHost } from '../../remote/ssh.js';
import type { SchemaMark } from '../../targets/profile.js';
import type { Target } from '../../targets/target.js';

/** The migration ledgers of the frameworks the apps use, and the column that orders them. */
const LEDGERS: Record<string, string> = {
  schema_migrations: 'version', // Ecto (Bonfire), Rails
  databasechangelog: 'orderexecuted', // Liquibase (Keycloak)
};

/**
 * Where an app's schema stands: rows and newest entry of its migration ledger. An app with none (MediaWiki) has no
 * mark: a failed change then restores its backup, as nothing tells whether its data changed.
 */
export async function appSchemaMark(remote: RemoteHost, t: Target): Promise<SchemaMark> {
  const db = t.database;
  if (!db) throw new ToolOutputError(`${t.service}: no database configured`);
  if (db.engine === 'mariadb') return mariadbSchemaMark(remote, t.service, db);
  const find = `select coalesce(${Object.keys(LEDGERS)
    .map((n) => `to_regclass('${n}')::text`)
    .join(', ')}, '')`;
  const found = (await remote.exec(psqlQuery(db, find), { mutates: false, timeoutMs: 60_000 })).stdout.trim();
  const column = LEDGERS[found];
  if (!column) throw new ToolOutputError(`${t.service}: its database has no migration ledger coopctl knows`);
  const sql = `select count(*) || ' ' || coalesce(max(${column})::text, '') from ${found}`;
  const r = await remote.exec(psqlQuery(db, sql), { mutates: false, timeoutMs: 60_000 });
  const [count, newest = ''] = r.stdout.trim().split(' ');
  return { count: Number(count), newest };
}

/**
 * The same on MariaDB, where Liquibase's ledger keeps its upper-case name (DATABASECHANGELOG: table names are
 * case-sensitive on Linux, lower_case_table_names=0).
 */
async function mariadbSchemaMark(remote: RemoteHost, service: string, db: DbTarget): Promise<SchemaMark> {
  const sql = async (text: string) =>
    (
      await remote.exec(mariadbSqlCommand(db, db.name), { stdin: text, mutates: false, timeoutMs: 60_000 })
    ).stdout.trim();
  const names = Object.keys(LEDGERS)
    .map((n) => `'${n}'`)
    .join(', ');
  const found = await sql(
    'select table_name from information_schema.tables ' +
      `where table_schema = database() and lower(table_name) in (${names}) limit 1;`,
  );
  const column = LEDGERS[found.toLowerCase()];
  if (!column || !/^\w+$/.test(found))
    throw new ToolOutputError(`${service}: its database has no migration ledger coopctl knows`);
  const [count, newest = ''] = (await sql(`select count(*), coalesce(max(${column}), '') from \`${found}\`;`)).split(
    '\t',
  );
  return { count: Number(count), newest };
}
