import path from 'node:path';
import { InputError } from '../kernel/errors.js';
import { dbCommand } from '../remote/compose.js';
import { ShellLine } from '../remote/quote.js';
import { hostProgram } from './hostProgram.js';

/**
 * Command builders (Kamal-style): pure functions from settings to argv or
 * pipelines, no I/O. Production runs the PostgreSQL tools inside the
 * database container of the compose project; without a container they run
 * on the host itself.
 */
export interface DbTarget {
  /** The server the database runs on (config database.engine); unset: PostgreSQL. */
  engine?: 'postgres' | 'mariadb';
  /** The database name. */
  name: string;
  /** The PostgreSQL role the tools connect as. */
  user: string;
  /** Compose service running PostgreSQL; unset: the tools run on the host. */
  container?: string;
  /** The compose project directory (the service's data dir); required with container. */
  composeDir?: string;
  /** The swarm service running PostgreSQL (`<stack>_db` of a Co-op Cloud app), instead of a compose service. */
  swarmService?: string;
  /** A container by name: a restore test's throw-away server (mariadbScratch.ts). */
  dockerContainer?: string;
}

/**
 * zstd -1: on dumps measured here it was both faster and smaller than -3
 * (bench/backup-pipeline.ts; reference/performance.md), and it spares the
 * production host's CPU.
 */
export const DEFAULT_COMPRESSION_LEVEL = 1;

const IDENT = /^\w{1,63}$/;

export function assertIdentifier(value: string, what: string): string {
  if (!IDENT.test(value))
    throw new InputError(`${what}: ${JSON.stringify(value)} is not a PostgreSQL name (letters, digits, _)`);
  return value;
}

export function assertDbTarget(db: DbTarget): DbTarget {
  assertIdentifier(db.name, 'database name');
  assertIdentifier(db.user, 'database user');
  if (db.dockerContainer !== undefined && !/^coopctl-[\w-]{1,60}$/.test(db.dockerContainer))
    throw new InputError(`database container: ${JSON.stringify(db.dockerContainer)} is not coopctl's`);
  if (db.swarmService !== undefined && !/^[a-z0-9][\w.-]*$/i.test(db.swarmService))
    throw new InputError(`database service: ${JSON.stringify(db.swarmService)} is not a swarm service name`);
  if (db.container !== undefined && db.swarmService === undefined) {
    if (!/^[\w-]+$/.test(db.container))
      throw new InputError(`database container: ${JSON.stringify(db.container)} is not a compose service name`);
    if (!db.composeDir || !path.isAbsolute(db.composeDir)) {
      throw new InputError(
        `database container ${db.container}: the compose project directory (the data dir) must be an absolute path`,
      );
    }
  }
  return db;
}

export function assertLevel(level: number): number {
  if (!Number.isInteger(level) || level < 1 || level > 19)
    throw new InputError(`zstd level ${level}: must be an integer from 1 to 19`);
  return level;
}

/** A PostgreSQL client tool, in the container or on the host. */
function pgTool(db: DbTarget, tool: string, args: readonly string[]): string[] {
  assertDbTarget(db);
  return dbCommand(db, [tool, ...args]);
}

const ZSTD_DECOMPRESS: readonly string[] = ['zstd', '-d', '-q', '-c'];

const SNAPSHOT = /^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+$/;

/**
 * pg_dump -Fc without its own (slow, single-threaded) compression, inside
 * the snapshot the inspection session exported so row counts and dump agree.
 */
function dumpArgv(db: DbTarget, snapshot?: string, session?: string): string[] {
  if (snapshot !== undefined && !SNAPSHOT.test(snapshot))
    throw new InputError(`not a snapshot id: ${JSON.stringify(snapshot)}`);
  const database = session ? conninfo(db.name, session) : db.name;
  return pgTool(db, 'pg_dump', [
    '-U',
    db.user,
    '-Fc',
    '-Z0',
    ...(snapshot ? [`--snapshot=${snapshot}`] : []),
    database,
  ]);
}

const SESSION = /^coopctl_[\w-]{1,54}$/;

/**
 * A connection string naming the session (application_name), so that coopctl can end it: under `docker exec`
 * a pg_dump outlives the SSH session that started it.
 */
function conninfo(database: string, session: string): string {
  if (!SESSION.test(session)) throw new InputError(`internal: bad session name ${JSON.stringify(session)}`);
  return `dbname=${assertIdentifier(database, 'database')} application_name=${session}`;
}

/**
 * Settings of the restore's own session, sent as libpq's `options` (the server's `-c name=value`, for this
 * session only: libpq-connect.html, "options"), so they reach pg_restore inside a container too.
 * - maintenance_work_mem: the index builds after the data are most of a restore's time; PostgreSQL's "Populating a
 *   Database" (populate.html, "Increase maintenance_work_mem") advises raising it for a restore. From 96 MB a
 *   B-tree build gets 2 parallel workers (planner.c plan_create_index_workers: 32 MB a participant); pg_restore
 *   builds one index at a time, so this is what the restore adds on the host, once.
 * - synchronous_commit=off: its commits do not wait for the WAL flush (non-durability.html).
 *   Nothing is lost by it: the restored database only counts once the swap commits, in a session of its own with
 *   the server's setting, and that commit's flush covers all WAL written before it.
 */
const RESTORE_SESSION = "options='-c maintenance_work_mem=256MB -c synchronous_commit=off'";

/** The application_name of a backup's dump session. */
export function dumpSession(backupId: string): string {
  return `coopctl_backup_${backupId}`;
}

interface RestoreFlags {
  /** Restore GRANTs too (a real restore); a scratch test skips them, its host may lack the roles. */
  privileges: boolean;
}

/**
 * stdin (the decrypted object: zstd of pg_dump -Fc), or `file` on the host (an on-host copy) → a database that
 * exists and is empty.
 */
export function restoreCommand(db: DbTarget, into: string, flags: RestoreFlags, file?: string): ShellLine {
  return decompressedInto(restoreArgv(db, into, flags), file);
}

/** stdin (zstd), or the zstd file `file` on the host → zstd -d → tool. */
export function decompressedInto(tool: readonly string[], file?: string): ShellLine {
  const source = file === undefined ? ZSTD_DECOMPRESS : [...ZSTD_DECOMPRESS, '--', absolute(file, 'backup file')];
  return ShellLine.pipeline(source, tool).bash();
}

/** pg_restore of a plain (decompressed) dump on stdin into `into`. */
export function restoreArgv(db: DbTarget, into: string, flags: RestoreFlags): string[] {
  assertIdentifier(into, 'restore target database');
  const args = [
    '-U',
    db.user,
    '--no-owner',
    ...(flags.privileges ? [`--role=${db.user}`] : ['--no-privileges']),
    '--exit-on-error',
    '-d',
    `dbname=${into} ${RESTORE_SESSION}`,
  ];
  return pgTool(db, 'pg_restore', args);
}

/**
 * stdin → `pg_restore --list`. pg_restore stops reading after the table of
 * contents; the rest is drained so zstd still checks every frame and the
 * pipeline does not fail on a broken pipe.
 */
export function restoreListCommand(db: DbTarget): ShellLine {
  return decompressedInto(restoreListArgv(db));
}

export function restoreListArgv(db: DbTarget): string[] {
  return ['bash', '-c', hostProgram('drain-after'), 'coopctl', ...pgTool(db, 'pg_restore', ['--list'])];
}

/** psql reading its script from stdin, unaligned and tab-separated, stopping at the first error. */
export function psqlCommand(db: DbTarget, database: string, vars: Record<string, string> = {}): string[] {
  assertIdentifier(database, 'database');
  const v = Object.entries(vars).flatMap(([k, val]) => {
    if (!/^\w+$/.test(k)) throw new InputError(`psql variable name ${JSON.stringify(k)}`);
    return ['-v', `${k}=${val}`];
  });
  return pgTool(db, 'psql', [
    '-X',
    '-q',
    '-v',
    'ON_ERROR_STOP=1',
    '-At',
    '-F',
    '\t',
    ...v,
    '-U',
    db.user,
    '-d',
    database,
  ]);
}

export function createdbCommand(db: DbTarget, name: string): string[] {
  return pgTool(db, 'createdb', ['-U', db.user, '-T', 'template0', assertIdentifier(name, 'new database')]);
}

export function dropdbCommand(db: DbTarget, name: string): string[] {
  return pgTool(db, 'dropdb', ['-U', db.user, '--if-exists', assertIdentifier(name, 'database to drop')]);
}

export function pgDumpVersionCommand(db: DbTarget): string[] {
  return pgTool(db, 'pg_dump', ['--version']);
}

const ROW_COUNTS_QUERY = `SELECT 'rows:' || c.relname,
       (xpath('/row/n/text()',
              query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
   AND c.relname = ANY (string_to_array(:'tables', ','))
 ORDER BY c.relname;
SELECT 'end', '';
`;

/**
 * SQL for the inspection session: everything in one REPEATABLE READ
 * snapshot, exported for pg_dump --snapshot. Table names arrive as a psql
 * variable (:'tables', comma-separated) and are quoted by the server
 * (format %I), never spliced in here. Each result line is "key<TAB>value";
 * "end" closes the report.
 */
export const INSPECT_SQL = `BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SELECT 'snapshot', pg_export_snapshot();
SELECT 'size', pg_database_size(current_database())::text;
SELECT 'server', current_setting('server_version');
${ROW_COUNTS_QUERY}`;

/** Row counts only (after a restore), in the same lines as INSPECT_SQL's. */
export const ROW_COUNTS_SQL = ROW_COUNTS_QUERY;

/** Renames databases in one transaction: :"live" → :"previous", :"restored" → :"live". */
/**
 * Connections the stopped app left (a console, a cron job, a client of the host) would make the rename fail
 * halfway through a restore: they are ended first.
 */
/**
 * Ends the sessions a stopped run leaves (named by :'app', or connected to its own database :'db') and waits up
 * to 10 s for them to go: a pg_dump or pg_restore run through `docker exec` does not end with its SSH session.
 */
export const END_SESSIONS_SQL = `SELECT set_config('coopctl.app', :'app', false),
  set_config('coopctl.db', :'db', false);
CREATE TEMP VIEW stopped AS SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (
  (application_name = current_setting('coopctl.app') AND current_setting('coopctl.app') <> '')
  OR (datname = current_setting('coopctl.db') AND current_setting('coopctl.db') <> ''));
SELECT count(pg_terminate_backend(pid)) FROM stopped;
DO $$ BEGIN
  FOR i IN 1..100 LOOP
    EXIT WHEN NOT EXISTS (SELECT 1 FROM stopped);
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
`;

/** Databases a restore or restore test may have left (judged by name in leftovers.ts): name, size, sessions. */
export const LEFTOVER_DATABASES_SQL = `SELECT d.datname,
       CASE WHEN has_database_privilege(d.oid, 'CONNECT') THEN pg_database_size(d.oid) END,
       (SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname)
  FROM pg_database d
 WHERE d.datname LIKE 'coopctl\\_scratch\\_%'
    OR (:'live' <> '' AND left(d.datname, length(:'live') + 1) = :'live' || '_')
 ORDER BY 1;
`;

export const SWAP_SQL = `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
  WHERE datname IN (:'live', :'restored') AND pid <> pg_backend_pid();
BEGIN;
ALTER DATABASE :"live" RENAME TO :"previous";
ALTER DATABASE :"restored" RENAME TO :"live";
COMMIT;
`;

function absolute(file: string, what: string): string {
  if (!path.isAbsolute(file) || /[\n\r]/.test(file))
    throw new InputError(`${what} ${JSON.stringify(file)} must be an absolute path`);
  return file;
}

/** The dump alone (no compression), for a host script that compresses and writes it itself (hostCopy.ts). */
export function dumpOnlyArgv(db: DbTarget, snapshot: string | undefined, session: string): string[] {
  return dumpArgv(db, snapshot, session);
}

/** `pg_restore --list` of stdin, where the database runs. */
export function listArgv(db: DbTarget): string[] {
  return pgTool(db, 'pg_restore', ['--list']);
}
