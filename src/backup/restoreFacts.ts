import { errorMessage } from '../kernel/errors.js';
import type { RemoteHost } from '../remote/ssh.js';
import type { DbTarget } from './commands.js';
import { queryReport } from './database.js';
import { BackupError } from './errors.js';

/**
 * What a service knows of its own data beyond the row counts of `tables:` (Keycloak: its users per realm), counted
 * by the restore test in the restored database and in the live one, and judged by the service. The service's profile
 * provides it (ServiceProfile.restoreFacts); src/backup only runs the query and records the verdict.
 */
export interface RestoreFacts {
  /** What is counted, for messages: "users per realm". */
  readonly what: string;
  /** SQL for the engine whose answer is "key<TAB>value" lines, then "end" (database.ts parseReport). */
  sql(engine: 'postgres' | 'mariadb'): string;
  /** The counts in the answer's lines. */
  counts(values: Map<string, string>): Record<string, number>;
  /** A line per count for the report, and what fails the restore test; `live` null when it could not be counted. */
  judge(restored: Record<string, number>, live: Record<string, number> | null): { lines: string[]; failures: string[] };
}

/** The facts of a service and where its live database runs. */
export interface RestoreFactsSource {
  facts: RestoreFacts;
  live: { host: RemoteHost; db: DbTarget };
}

/** What the restore test records of the facts (its verification's `facts`). */
export interface RestoreFactsResult {
  what: string;
  lines: string[];
  restored: Record<string, number>;
  /** null: the live database could not be counted (liveError says why); the test then judges the restore alone. */
  live: Record<string, number> | null;
  liveError?: string;
}

function count(facts: RestoreFacts, at: { host: RemoteHost; db: DbTarget }, database: string) {
  const sql = facts.sql(at.db.engine ?? 'postgres');
  return queryReport(at.host, at.db, database, sql, `count ${facts.what}`).then((v) => facts.counts(v));
}

/**
 * Counts the facts in the restored database (`database` on `scratch`) and in the live one, and has the service judge
 * them: a failure is the backup's (restore-mismatch). The live database is only read.
 */
export async function checkRestoreFacts(
  source: RestoreFactsSource,
  scratch: { host: RemoteHost; db: DbTarget },
  database: string,
  backupId: string,
): Promise<RestoreFactsResult> {
  const { facts, live } = source;
  const restored = await count(facts, scratch, database);
  let liveCounts: Record<string, number> | null = null;
  let liveError: string | undefined;
  try {
    liveCounts = await count(facts, live, live.db.name);
  } catch (err) {
    liveError = errorMessage(err);
  }
  const { lines, failures } = facts.judge(restored, liveCounts);
  const result: RestoreFactsResult = { what: facts.what, lines, restored, live: liveCounts };
  if (liveError !== undefined) result.liveError = liveError;
  if (failures.length > 0)
    throw new BackupError('restore-mismatch', `backup ${backupId} restored into ${database}: ${failures.join('; ')}`, {
      details: { facts: result },
    });
  return result;
}
