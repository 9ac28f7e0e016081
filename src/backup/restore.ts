import { randomBytes } from 'node:crypto';
import { errorMessage } from '../kernel/errors.js';
import { ProgressWatch } from '../remote/progress.js';
import type { RemoteHost } from '../remote/ssh.js';
import { assertIdentifier, restoreArgv, type DbTarget } from './commands.js';
import { createDatabase, discardDatabase, rowCounts } from './database.js';
import { mariadbLoadArgv } from './mariadb.js';
import { BackupError } from './errors.js';
import type { Manifest } from './manifest.js';
import type { ProgressListener } from './progress.js';
import { readBack } from './readback.js';
import { checkRestoreFacts, type RestoreFactsResult, type RestoreFactsSource } from './restoreFacts.js';
import { watchRestore } from './restoreProgress.js';
import type { BackupStore } from './store/types.js';
import { checked, type VerifyOutcome } from './verify.js';
import { restoreTestVolumes } from './volumeVerify.js';

/**
 * Restores: into a scratch database (the scheduled restore test) and into a
 * new database next to a live one (the steps of a real restore; the lock,
 * safety backup, confirmation and history around them are the caller's).
 */
interface RestoreHost {
  host: RemoteHost;
  /** How to reach PostgreSQL there (user, container); its name is the live database, if any. */
  db: DbTarget;
}

interface RestoreOptions {
  store: BackupStore;
  manifest: Manifest;
  identities?: readonly string[];
  target: RestoreHost;
  onProgress?: ProgressListener;
  now?: () => Date;
  /** Ctrl-C: the restore stops, and the database it was filling is dropped. */
  signal?: AbortSignal;
  /** Where a restore test extracts the backup's volumes on the target's host (default /var/tmp). */
  volumeScratch?: string;
}

interface ScratchOptions extends RestoreOptions {
  /** The service's own facts (restoreFacts.ts), counted in the scratch database and the live one. */
  facts?: RestoreFactsSource;
}

interface RestoredDatabase {
  database: string;
  rowCounts: Record<string, number>;
}

function stamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d{3}Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '_')
    .toLowerCase();
}

/** A name no one else uses: coopctl_scratch_<time>_<random>. */
function scratchName(now: Date = new Date()): string {
  return assertIdentifier(`coopctl_scratch_${stamp(now)}_${randomBytes(3).toString('hex')}`, 'scratch database');
}

/** Names for a real restore of `live`: the restored copy, and what the live database becomes. */
export function restoreNames(live: string, now: Date = new Date()): { restored: string; previous: string } {
  const s = stamp(now);
  return {
    restored: assertIdentifier(`${live}_restored_${s}`, 'restored database'),
    previous: assertIdentifier(`${live}_before_${s}`, 'previous database'),
  };
}

/**
 * stream object → decrypt → ssh → zstd -d | pg_restore into an empty
 * database → row counts equal to the manifest's.
 */
async function restoreInto(o: RestoreOptions, database: string, privileges: boolean): Promise<RestoredDatabase> {
  const { host, db } = o.target;
  const m = o.manifest;
  const watch = new ProgressWatch();
  const polling = watchRestore(host, db, database, watch);
  await readBack({
    store: o.store,
    manifest: m,
    identities: o.identities,
    into: {
      host,
      tool: db.engine === 'mariadb' ? mariadbLoadArgv(db, database) : restoreArgv(db, database, { privileges }),
      mutates: true,
      what: `${db.engine === 'mariadb' ? 'mariadb' : 'pg_restore'} into ${database}`,
      failure: 'corrupt-dump',
      progress: watch,
    },
    phase: 'restore',
    onProgress: o.onProgress,
    signal: o.signal,
  }).finally(() => polling.stop());
  o.onProgress?.({ phase: 'check', bytes: 0 });
  const counts = await rowCounts(host, db, database, Object.keys(m.database.rowCounts));
  const mismatches = Object.entries(m.database.rowCounts)
    .filter(([t, n]) => counts[t] !== n)
    .map(([t, n]) => `${t}: expected ${n}, restored ${counts[t] ?? 'no table'}`);
  if (mismatches.length > 0) {
    throw new BackupError(
      'restore-mismatch',
      `backup ${m.id} restored into ${database}, but row counts differ from the manifest: ${mismatches.join('; ')}`,
      {
        details: { expected: m.database.rowCounts, restored: counts },
      },
    );
  }
  return { database, rowCounts: counts };
}

interface ScratchOutcome extends VerifyOutcome, RestoredDatabase {
  /** Problems after the verdict, e.g. the scratch database could not be dropped. */
  warnings: string[];
  facts?: RestoreFactsResult;
}

/**
 * `backup restore ID --into scratch`: the restore test. The scratch database
 * is dropped afterwards whatever happened; the result is recorded in the
 * manifest (a failure too, when it is the backup's fault).
 */
export async function restoreScratch(o: ScratchOptions): Promise<ScratchOutcome> {
  const now = o.now ?? (() => new Date());
  const database = scratchName(now());
  const started = Date.now();
  const warnings: string[] = [];
  let restored: RestoredDatabase | undefined;
  let facts: RestoreFactsResult | undefined;
  try {
    const outcome = await checked(o, 'restore-scratch', async () => {
      await createDatabase(o.target.host, o.target.db, database);
      try {
        restored = await restoreInto(o, database, false);
        if (o.facts) facts = await checkRestoreFacts(o.facts, o.target, database, o.manifest.id);
      } finally {
        try {
          await discardDatabase(o.target.host, o.target.db, database);
        } catch (err) {
          warnings.push(
            `scratch database ${database} on ${o.target.host.target.name} could not be dropped: ${errorMessage(err)}`,
          );
        }
      }
      const volumes = await restoreTestVolumes({
        ...o,
        host: o.target.host,
        scratchDir: o.volumeScratch ?? '/var/tmp',
      });
      return {
        host: o.target.host.target.name,
        database,
        rowCounts: restored.rowCounts,
        ...(facts && { facts }),
        ...(volumes.length > 0 && { volumes }),
        durationMs: Date.now() - started,
      };
    });
    return { ...outcome, ...restored!, warnings, ...(facts && { facts }) };
  } catch (err) {
    if (err instanceof BackupError) err.hints.push(...warnings);
    throw err;
  }
}

/**
 * First step of a real restore: the backup into a NEW database beside the
 * live one, checked against the manifest's row counts. On failure the new
 * database is dropped and the live one was never touched. Next steps (the
 * caller's, with the service stopped): swapDatabases, then dropDatabase of
 * the previous one once the service is verified.
 */
export async function restoreToNewDatabase(o: RestoreOptions & { database: string }): Promise<RestoredDatabase> {
  if (o.database === o.target.db.name)
    throw new BackupError('database-step-failed', `refusing to restore over the live database ${o.database}`);
  await createDatabase(o.target.host, o.target.db, o.database);
  try {
    return await restoreInto(o, o.database, true);
  } catch (err) {
    await discardDatabase(o.target.host, o.target.db, o.database).catch(() => {});
    throw err;
  }
}
