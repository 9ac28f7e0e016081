import { InputError } from '../kernel/errors.js';
import { dbCommand } from '../remote/compose.js';
import { ShellLine } from '../remote/quote.js';
import { assertLevel, decompressedInto, type DbTarget } from './commands.js';
import { hostProgram } from './hostProgram.js';

/**
 * MariaDB's command builders (Keycloak's and MediaWiki's databases on hypha): argv and pipelines, no I/O. Every
 * client runs where the database runs (its container), through host/mariadb-client.sh, which takes the root
 * password from the container's own environment: it never travels through coopctl or a process list.
 *
 * Row counts: mariadb-dump --single-transaction opens its consistent snapshot in a connection of its own, and
 * MariaDB cannot hand a snapshot to another session (PostgreSQL's pg_export_snapshot has no MariaDB twin). So the
 * counts come from a snapshot of their own, taken as the dump starts (mariadbHost.ts inspectBeforeDump): rows the
 * app writes between the two snapshots make the dump hold more (or fewer) rows than counted. They are recorded as
 * counted beside the dump, never as the dump's; a restore is checked against counts taken in the restored database
 * itself.
 */
const NAME = /^[A-Za-z0-9_]{1,64}$/;

function mariadbName(value: string, what: string): string {
  if (!NAME.test(value))
    throw new InputError(`${what}: ${JSON.stringify(value)} is not a MariaDB name (letters, digits, _)`);
  return value;
}

/** host/mariadb-client.sh MODE ARG... where the database runs. */
function client(db: DbTarget, args: readonly string[]): string[] {
  return dbCommand(db, ['bash', '-c', hostProgram('mariadb-client'), 'coopctl', ...args]);
}

/** The mariadb-dump where the database runs (its container): what a backup's `tools` records. */
export function mariadbDumpVersionCommand(db: DbTarget): string[] {
  return client(db, ['version']);
}

/**
 * The dump alone and its check, for the on-host copy's script (hostCopy.ts): the check reads the decompressed dump
 * on the host (host/mariadb-dump-check.sh: mariadb-dump's header first, its "-- Dump completed" footer last).
 */
export function mariadbCopyArgv(db: DbTarget): { dump: string[]; check: string[] } {
  return {
    dump: client(db, ['dump', mariadbName(db.name, 'database')]),
    check: ['bash', '-c', hostProgram('mariadb-dump-check'), 'coopctl'],
  };
}

/** The dump of the live database, compressed on the host. */
export function mariadbDumpCommand(db: DbTarget, level: number): ShellLine {
  return ShellLine.pipeline(client(db, ['dump', mariadbName(db.name, 'database')]), [
    'zstd',
    `-${assertLevel(level)}`,
    '-T1',
    '-q',
    '-c',
  ]).bash();
}

/** SQL on stdin against `database` (null: none), rows tab-separated on stdout. */
export function mariadbSqlCommand(db: DbTarget, database: string | null): string[] {
  return client(db, ['sql', database === null ? '-' : mariadbName(database, 'database')]);
}

/** stdin (zstd of a dump) or the on-host zstd file `file` → a database that exists and is empty. */
export function mariadbLoadCommand(db: DbTarget, into: string, file?: string): ShellLine {
  return decompressedInto(mariadbLoadArgv(db, into), file);
}

/** A plain dump on stdin → `into`, which exists and is empty. */
export function mariadbLoadArgv(db: DbTarget, into: string): string[] {
  return client(db, ['load', mariadbName(into, 'restore target database')]);
}

/** live → previous and restored → live in one RENAME TABLE (MariaDB has no RENAME DATABASE). */
export function mariadbSwapCommand(
  db: DbTarget,
  names: { live: string; restored: string; previous: string },
): string[] {
  const { live, restored, previous } = names;
  return client(db, [
    'swap',
    mariadbName(live, 'live database'),
    mariadbName(restored, 'restored database'),
    mariadbName(previous, 'previous database'),
  ]);
}

/** The server's version and the database's size, in "key<TAB>value" lines, then "end". */
export function mariadbInspectSql(database: string): string {
  return `SELECT 'server', version();
SELECT 'size', coalesce(sum(data_length + index_length), 0) FROM information_schema.tables
 WHERE table_schema = '${mariadbName(database, 'database')}';
SELECT 'end', '';
`;
}

/** Exact counts (count(*), never information_schema's estimates) of the tables, in one consistent snapshot. */
export function mariadbRowCountsSql(tables: readonly string[]): string {
  const counts = tables.map((t) => `SELECT 'rows:${mariadbName(t, 'table')}', count(*) FROM \`${t}\`;`);
  return ['START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;', ...counts, 'COMMIT;', "SELECT 'end', '';", ''].join(
    '\n',
  );
}

export function createMariaDbSql(name: string): string {
  return `CREATE DATABASE \`${mariadbName(name, 'new database')}\` CHARACTER SET utf8mb4;\n`;
}

export function dropMariaDbSql(name: string): string {
  return `DROP DATABASE IF EXISTS \`${mariadbName(name, 'database to drop')}\`;\n`;
}

/**
 * Ends the sessions connected to a database of a restore's own (a load cut off), never the live one: KILL of each
 * from information_schema.processlist, built and run by the server itself.
 */
export function endMariaDbSessionsSql(database: string): string {
  const d = mariadbName(database, 'database');
  return `DELIMITER //
BEGIN NOT ATOMIC
  FOR s IN (SELECT id FROM information_schema.processlist WHERE db = '${d}' AND id <> connection_id()) DO
    EXECUTE IMMEDIATE concat('KILL CONNECTION ', s.id);
  END FOR;
END//
DELIMITER ;
`;
}

/**
 * What shows that a load into `database` is working: its size in the server's tables, and per session in it the
 * statement id (mariadb-dump writes an INSERT per ~1 MB: each is a statement of its own) and its stage progress.
 */
export function mariadbLoadProgressSql(database: string): string {
  const d = mariadbName(database, 'database');
  return `SELECT concat_ws(' ',
  (SELECT sum(data_length + index_length) FROM information_schema.tables WHERE table_schema = '${d}'),
  (SELECT group_concat(concat_ws(':', id, query_id, stage, progress)) FROM information_schema.processlist
    WHERE db = '${d}'));
`;
}

/** The databases of a restore (its new one, the replaced one) that exist, one name a line. */
export function mariadbExistingSql(names: readonly string[]): string {
  const list = names.map((n) => `'${mariadbName(n, 'database')}'`).join(', ');
  return `SELECT schema_name FROM information_schema.schemata WHERE schema_name IN (${list});\n`;
}

/**
 * The databases `backup prune` may remove, as LEFTOVER_DATABASES_SQL lists them on PostgreSQL (commands.ts): name,
 * size (data and indexes), sessions using it; restore tests' scratch databases, and `live`'s replaced and restored
 * copies (none when `live` is '').
 */
export function mariadbLeftoversSql(live: string): string {
  const copies = live === '' ? '' : ` OR left(s.schema_name, ${live.length + 1}) = '${mariadbName(live, 'database')}_'`;
  return `SELECT s.schema_name,
  (SELECT coalesce(sum(t.data_length + t.index_length), 0) FROM information_schema.tables t
    WHERE t.table_schema = s.schema_name),
  (SELECT count(*) FROM information_schema.processlist p WHERE p.db = s.schema_name)
  FROM information_schema.schemata s
 WHERE s.schema_name LIKE 'coopctl\\_scratch\\_%'${copies}
 ORDER BY 1;
`;
}
