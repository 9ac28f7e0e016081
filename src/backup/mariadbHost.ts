import type { RemoteHost } from '../remote/ssh.js';
import type { DbTarget } from './commands.js';
import { lastLines, parseReport } from './hostOutput.js';
import { BackupError } from './errors.js';
import {
  createMariaDbSql,
  dropMariaDbSql,
  endMariaDbSessionsSql,
  mariadbDumpVersionCommand,
  mariadbExistingSql,
  mariadbInspectSql,
  mariadbRowCountsSql,
  mariadbSqlCommand,
  mariadbSwapCommand,
} from './mariadb.js';

/** What a MariaDB backup's manifest records of its database, read where the database runs. */
interface MariaDbFacts {
  size: number;
  serverVersion: string;
  /** Counted in a snapshot of their own beside the dump (mariadb.ts says why they are not the dump's). */
  rowCounts: Record<string, number>;
}

async function report(host: RemoteHost, db: DbTarget, database: string, sql: string, what: string) {
  const r = await host.exec(mariadbSqlCommand(db, database), { mutates: false, stdin: sql, reject: false });
  const parsed = parseReport(r.stdout);
  if (r.exitCode !== 0 || !parsed.complete)
    throw new BackupError(
      'dump-failed',
      `cannot ${what} ${database} on ${host.target.name}: ${lastLines(r.stderr) || `exit ${r.exitCode}`}`,
    );
  return parsed.values;
}

/** Exact row counts of `tables` in `database`, in one consistent snapshot. */
export async function mariadbRowCounts(
  host: RemoteHost,
  db: DbTarget,
  database: string,
  tables: readonly string[],
): Promise<Record<string, number>> {
  const values = await report(host, db, database, mariadbRowCountsSql(tables), 'count rows in');
  const counts: Record<string, number> = {};
  for (const [k, v] of values) if (k.startsWith('rows:')) counts[k.slice(5)] = Number(v);
  return counts;
}

/** The database's size on disk (its tables' data and indexes), for the disk checks. */
export async function mariadbSize(host: RemoteHost, db: DbTarget): Promise<number> {
  const size = Number((await report(host, db, db.name, mariadbInspectSql(db.name), 'inspect')).get('size'));
  if (!Number.isFinite(size)) throw new BackupError('dump-failed', `${db.name} on ${host.target.name}: no size`);
  return size;
}

export async function mariadbDumpVersion(host: RemoteHost, db: DbTarget): Promise<string> {
  const r = await host.exec(mariadbDumpVersionCommand(db), { mutates: false, reject: false });
  if (r.exitCode !== 0)
    throw new BackupError(
      'dump-failed',
      `mariadb-dump is not usable on ${host.target.name}: ${lastLines(r.stderr) || `exit ${r.exitCode}`}`,
    );
  return r.stdout.trim();
}

/**
 * The inspection before a dump, in the shape of PostgreSQL's snapshot session (database.ts openSnapshot): MariaDB
 * has no snapshot to hand to mariadb-dump. The row counts start in a snapshot of their own as the dump starts and
 * run beside it: count(*) reads the whole table (MediaWiki's `text` has no other index), which at 1 GiB took about
 * as long as the dump itself (bench/README.md). `close` waits for them, so that no session is left behind.
 */
export async function inspectBeforeDump(
  host: RemoteHost,
  db: DbTarget,
  tables: readonly string[],
): Promise<{ snapshot: undefined; facts: Promise<MariaDbFacts>; close(): Promise<void> }> {
  const values = await report(host, db, db.name, mariadbInspectSql(db.name), 'inspect');
  const size = Number(values.get('size'));
  const serverVersion = values.get('server');
  if (!Number.isFinite(size) || !serverVersion)
    throw new BackupError('dump-failed', `cannot inspect ${db.name} on ${host.target.name}: no version or size`);
  const facts = mariadbRowCounts(host, db, db.name, tables).then((rowCounts) => ({ size, serverVersion, rowCounts }));
  // awaited after the dump; when the dump fails first, its error is the one to report
  facts.catch(() => {});
  return {
    snapshot: undefined,
    facts,
    close: () =>
      facts.then(
        () => {},
        () => {},
      ),
  };
}

async function step(host: RemoteHost, what: string, cmd: string[], stdin?: string): Promise<void> {
  const r = await host.exec(cmd, { mutates: true, stdin, reject: false });
  if (r.exitCode !== 0)
    throw new BackupError(
      'database-step-failed',
      `${what} on ${host.target.name} failed: ${lastLines(r.stderr) || `exit ${r.exitCode}`}`,
    );
}

export function createMariaDb(host: RemoteHost, db: DbTarget, name: string): Promise<void> {
  return step(host, `CREATE DATABASE ${name}`, mariadbSqlCommand(db, null), createMariaDbSql(name));
}

export function dropMariaDb(host: RemoteHost, db: DbTarget, name: string): Promise<void> {
  if (name === db.name) throw new BackupError('database-step-failed', 'internal: never the live database');
  return step(host, `DROP DATABASE ${name}`, mariadbSqlCommand(db, null), dropMariaDbSql(name));
}

/** Ends the sessions in a database of the restore's own (never the live one), then drops it. */
export async function discardMariaDb(host: RemoteHost, db: DbTarget, name: string): Promise<void> {
  if (name === db.name) throw new BackupError('database-step-failed', 'internal: never the live database');
  await step(host, `ending the sessions of ${name}`, mariadbSqlCommand(db, null), endMariaDbSessionsSql(name));
  await dropMariaDb(host, db, name);
}

export function swapMariaDb(
  host: RemoteHost,
  db: DbTarget,
  names: { live: string; restored: string; previous: string },
): Promise<void> {
  return step(
    host,
    `renaming the tables of ${names.live} → ${names.previous}, ${names.restored} → ${names.live}`,
    mariadbSwapCommand(db, names),
  );
}

/**
 * After a swap that failed: true when the host shows it did not happen (the restored database still there, no
 * previous one), and the restored one is then dropped. false when that cannot be told.
 */
export async function mariadbSwapNotDone(
  host: RemoteHost,
  db: DbTarget,
  swap: { restored: string; previous: string },
): Promise<boolean> {
  try {
    const r = await host.exec(mariadbSqlCommand(db, null), {
      mutates: false,
      stdin: mariadbExistingSql([swap.restored, swap.previous]),
      reject: false,
    });
    const found = r.stdout.split('\n').filter(Boolean);
    if (r.exitCode !== 0 || !found.includes(swap.restored) || found.includes(swap.previous)) return false;
    await discardMariaDb(host, db, swap.restored).catch(() => {});
    return true;
  } catch {
    return false;
  }
}
