import { PassThrough, type Readable } from 'node:stream';
import { errorMessage } from '../kernel/errors.js';
import type { RemoteHost } from '../remote/ssh.js';
import {
  assertIdentifier,
  createdbCommand,
  dropdbCommand,
  END_SESSIONS_SQL,
  INSPECT_SQL,
  pgDumpVersionCommand,
  psqlCommand,
  ROW_COUNTS_SQL,
  SWAP_SQL,
  type DbTarget,
} from './commands.js';
import { BackupError } from './errors.js';
import { lastLines, parseReport, type Report } from './hostOutput.js';
import { mariadbSqlCommand } from './mariadb.js';
import { createMariaDb, discardMariaDb, dropMariaDb, mariadbRowCounts, swapMariaDb } from './mariadbHost.js';

/** PostgreSQL as seen over SSH: facts for the manifest, and the database steps of a restore. */
interface DatabaseFacts {
  size: number;
  serverVersion: string;
  rowCounts: Record<string, number>;
}

function rowCountsOf(values: Map<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [k, v] of values) if (k.startsWith('rows:')) counts[k.slice(5)] = Number(v);
  return counts;
}

function tablesVar(tables: readonly string[]): string {
  for (const t of tables) {
    if (!/^\w+$/.test(t))
      throw new BackupError('database-step-failed', `table name ${JSON.stringify(t)} is not a plain identifier`);
  }
  return tables.join(',');
}

/** Reads the report from a live stream without ending it (the session stays open). */
function readReport(stdout: Readable): Promise<Report> {
  return new Promise((resolve) => {
    let text = '';
    let settled = false;
    stdout.on('data', (b: Buffer) => {
      if (settled) return;
      text += b.toString('utf8');
      const r = parseReport(text);
      if (r.complete) {
        settled = true;
        resolve(r);
      }
    });
    stdout.on('close', () => {
      if (!settled) resolve(parseReport(text));
    });
    stdout.on('end', () => {
      if (!settled) resolve(parseReport(text));
    });
    stdout.on('error', () => {
      if (!settled) resolve(parseReport(text));
    });
  });
}

/**
 * An open REPEATABLE READ session on the database: its snapshot is exported
 * for pg_dump --snapshot, so the row counts in the manifest are exactly those
 * of the dump even while the service keeps writing.
 */
interface SnapshotSession {
  snapshot: string;
  facts: DatabaseFacts;
  /** Ends the transaction; call once the dump has finished (or failed). */
  close(): Promise<void>;
}

export async function openSnapshot(
  host: RemoteHost,
  db: DbTarget,
  tables: readonly string[],
): Promise<SnapshotSession> {
  const stdin = new PassThrough();
  const h = await host.stream(psqlCommand(db, db.name, { tables: tablesVar(tables) }), { mutates: false, stdin });
  h.stdout.on('error', () => {});
  stdin.write(INSPECT_SQL);
  const report = await readReport(h.stdout);
  const close = async () => {
    stdin.end('COMMIT;\n');
    await Promise.race([h.done, new Promise((r) => setTimeout(r, 10_000).unref())]);
    h.abort();
  };
  const snapshot = report.values.get('snapshot');
  const size = Number(report.values.get('size'));
  const serverVersion = report.values.get('server');
  if (!report.complete || !snapshot || !Number.isFinite(size) || !serverVersion) {
    stdin.end();
    h.abort();
    const done = await h.done;
    throw new BackupError(
      'dump-failed',
      `cannot inspect database ${db.name} on ${host.target.name}: ${lastLines(done.stderr) || 'psql ended early'}`,
    );
  }
  return { snapshot, facts: { size, serverVersion, rowCounts: rowCountsOf(report.values) }, close };
}

/** SQL on stdin against `database`, either engine, whose answer is "key<TAB>value" lines up to "end". */
export async function queryReport(
  host: RemoteHost,
  db: DbTarget,
  database: string,
  sql: string,
  what: string,
  vars: Record<string, string> = {},
): Promise<Map<string, string>> {
  const cmd = db.engine === 'mariadb' ? mariadbSqlCommand(db, database) : psqlCommand(db, database, vars);
  const r = await host.exec(cmd, { mutates: false, stdin: sql, reject: false });
  const report = parseReport(r.stdout);
  if (r.exitCode !== 0 || !report.complete) {
    throw new BackupError(
      'database-step-failed',
      `cannot ${what} in ${database} on ${host.target.name}: ${lastLines(r.stderr) || `exit ${r.exitCode}`}`,
    );
  }
  return report.values;
}

export async function rowCounts(
  host: RemoteHost,
  db: DbTarget,
  database: string,
  tables: readonly string[],
): Promise<Record<string, number>> {
  if (db.engine === 'mariadb') return mariadbRowCounts(host, db, database, tables);
  const values = await queryReport(host, db, database, ROW_COUNTS_SQL, 'count rows', { tables: tablesVar(tables) });
  return rowCountsOf(values);
}

export async function pgDumpVersion(host: RemoteHost, db: DbTarget): Promise<string> {
  const r = await host.exec(pgDumpVersionCommand(db), { mutates: false, reject: false });
  if (r.exitCode !== 0)
    throw new BackupError(
      'dump-failed',
      `pg_dump is not usable on ${host.target.name}: ${lastLines(r.stderr) || `exit ${r.exitCode}`}`,
    );
  return r.stdout.trim();
}

async function step(
  what: string,
  host: RemoteHost,
  run: () => Promise<{ exitCode: number; stderr: string }>,
): Promise<void> {
  let r;
  try {
    r = await run();
  } catch (err) {
    throw new BackupError('database-step-failed', `${what} on ${host.target.name} failed: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (r.exitCode !== 0)
    throw new BackupError(
      'database-step-failed',
      `${what} on ${host.target.name} failed: ${lastLines(r.stderr) || `exit ${r.exitCode}`}`,
    );
}

/** An empty database from template0 (what pg_restore expects). */
export function createDatabase(host: RemoteHost, db: DbTarget, name: string): Promise<void> {
  if (db.engine === 'mariadb') return createMariaDb(host, db, name);
  return step(`createdb ${name}`, host, () => host.exec(createdbCommand(db, name), { mutates: true, reject: false }));
}

export function dropDatabase(host: RemoteHost, db: DbTarget, name: string): Promise<void> {
  if (db.engine === 'mariadb') return dropMariaDb(host, db, name);
  return step(`dropdb ${name}`, host, () => host.exec(dropdbCommand(db, name), { mutates: true, reject: false }));
}

/**
 * Ends what a stopped run left connected on the host: its dump session (`app`) or the sessions in a database
 * of its own (`database`: a scratch or restored copy, never the live one), and waits for them to be gone.
 */
export function endSessions(host: RemoteHost, db: DbTarget, which: { app?: string; database?: string }): Promise<void> {
  if (which.database) assertIdentifier(which.database, 'database');
  if (which.database === db.name) throw new BackupError('database-step-failed', 'internal: never the live database');
  const vars = { app: which.app ?? '', db: which.database ?? '' };
  return step(`ending the sessions of ${which.app ?? which.database}`, host, () =>
    host.exec(psqlCommand(db, 'postgres', vars), { mutates: true, stdin: END_SESSIONS_SQL, reject: false }),
  );
}

/** Drops a database of the restore's own, after ending what is still connected to it (a pg_restore cut off). */
export async function discardDatabase(host: RemoteHost, db: DbTarget, database: string): Promise<void> {
  if (db.engine === 'mariadb') return discardMariaDb(host, db, database);
  // A session ended a moment ago may still hold the database when DROP runs: end and drop again, a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      await endSessions(host, db, { database });
      return await dropDatabase(host, db, database);
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

/**
 * live → previous and restored → live, in one transaction: either both
 * renames happen or neither. Fails while anything is connected to live (stop
 * the service first); previous is kept, the caller drops it when satisfied.
 */
export function swapDatabases(
  host: RemoteHost,
  db: DbTarget,
  names: { live: string; restored: string; previous: string },
): Promise<void> {
  for (const [what, name] of Object.entries(names)) assertIdentifier(name, `${what} database`);
  if (db.engine === 'mariadb') return swapMariaDb(host, db, names);
  return step(`renaming ${names.live} → ${names.previous}, ${names.restored} → ${names.live}`, host, () =>
    host.exec(psqlCommand(db, 'postgres', names), { mutates: true, stdin: SWAP_SQL, reject: false }),
  );
}
