import type { HistoryRecord } from '../history/records.js';
import type { RemoteHost } from '../remote/ssh.js';
import { LEFTOVER_DATABASES_SQL, psqlCommand, type DbTarget } from './commands.js';
import { dropDatabase } from './database.js';
import { lastLines } from './hostOutput.js';
import { BackupError } from './errors.js';
import { mariadbLeftoversSql, mariadbSqlCommand } from './mariadb.js';
import { hostProgram, hostScript } from './hostProgram.js';
import type { BackupStore, UnfinishedWrite } from './store/types.js';
import { volumeMountpoint, type BackupVolume } from './volumes.js';

/**
 * What coopctl's runs leave behind, each named so that its age and owner can be told: the database a restore
 * replaced (`<db>_before_<stamp>`, kept for inspection), a restored copy that was never swapped in
 * (`<db>_restored_<stamp>`), a restore test's scratch database (`coopctl_scratch_<stamp>_<hex>`), a local
 * store's `.partial` file (`<object>.<pid>.partial`), an unfinished multipart upload, and a volume's files a
 * restore replaced or never swapped in (`<Mountpoint>.coopctl-before|restored-<stamp>`). None of them is a
 * backup; `backup leftovers` lists them and `backup prune` removes those older than
 * backup.retention.leftovers.
 */
type LeftoverKind =
  | 'replaced-database'
  | 'restored-database'
  | 'scratch-database'
  | 'replaced-volume'
  | 'restored-volume'
  | 'partial-file'
  | 'upload';

export interface Leftover {
  kind: LeftoverKind;
  /** The database, or the key of the object that was being written. */
  name: string;
  /** The host, or the store. */
  where: string;
  createdAt: string;
  size: number | null;
  /** Which run left it, when that can be told (a history record, a process). */
  owner?: string;
  /** Why it stays whatever its age: something still uses it. */
  inUse?: string;
  remove(): Promise<void>;
}

const DB_NAME = /^(?:(\w+)_(before|restored)|coopctl_scratch)_(\d{8})_(\d{6})(?:_[0-9a-f]+)?$/;

/** The time a leftover database's name carries (coopctl's stamp: yyyymmdd_hhmmss, UTC). */
function stampTime(date: string, time: string): string | undefined {
  const day = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6)}`;
  const iso = `${day}T${time.slice(0, 2)}:${time.slice(2, 4)}:${time.slice(4)}Z`;
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}

/**
 * Leftover databases on a host: the replaced and restored copies of `live`, and (with scratch) restore tests'
 * scratch databases. A database anyone is connected to is in use.
 */
export async function databaseLeftovers(
  host: RemoteHost,
  db: DbTarget,
  which: { live?: string; scratch?: boolean },
): Promise<Leftover[]> {
  const live = which.live ?? '';
  const mariadb = db.engine === 'mariadb';
  const r = await host.exec(mariadb ? mariadbSqlCommand(db, null) : psqlCommand(db, 'postgres', { live }), {
    mutates: false,
    stdin: mariadb ? mariadbLeftoversSql(live) : LEFTOVER_DATABASES_SQL,
    reject: false,
  });
  if (r.exitCode !== 0) {
    throw new BackupError(
      'database-step-failed',
      `cannot list the databases on ${host.target.name}: ${lastLines(r.stderr) || `exit ${r.exitCode}`}`,
    );
  }
  const found: Leftover[] = [];
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [name, size, sessions] = line.split('\t');
    const m = DB_NAME.exec(name);
    const createdAt = m && stampTime(m[3], m[4]);
    if (!m || !createdAt) continue;
    const kind = m[1] === undefined ? 'scratch-database' : `${m[2] === 'before' ? 'replaced' : 'restored'}-database`;
    if (kind === 'scratch-database' ? !which.scratch : m[1] !== which.live) continue;
    found.push({
      kind: kind as LeftoverKind,
      name,
      where: host.target.name,
      createdAt,
      size: Number(size),
      ...(Number(sessions) > 0 ? { inUse: `${sessions} sessions connected` } : {}),
      remove: () => dropDatabase(host, db, name),
    });
  }
  return found;
}

/** volumeRestore.ts volumeStamp: `yyyymmddThhmmssZ-hex`. */
const VOLUME_DIR = /\.coopctl-(before|restored)-(\d{8})T(\d{6})Z-[0-9a-f]+$/;

/** The directories a volume restore left beside each of `volumes` (its replaced files, an extract never swapped). */
export async function volumeLeftovers(host: RemoteHost, volumes: readonly BackupVolume[]): Promise<Leftover[]> {
  const found: Leftover[] = [];
  for (const v of volumes) {
    const cmd = hostScript(hostProgram('volume-swap'), ['leftovers', await volumeMountpoint(host, v)]);
    const r = await host.exec(cmd, { mutates: false, reject: false });
    for (const [, size, dir] of r.stdout.matchAll(/^leftover (\d+|-) (.+)$/gm)) {
      const m = VOLUME_DIR.exec(dir);
      const createdAt = m && stampTime(m[2], m[3]);
      if (!m || !createdAt) continue;
      found.push({
        kind: m[1] === 'before' ? 'replaced-volume' : 'restored-volume',
        name: dir,
        where: host.target.name,
        createdAt,
        size: size === '-' ? null : Number(size),
        remove: async () => {
          await host.exec(['rm', '-rf', '--', dir], { mutates: true });
        },
      });
    }
  }
  return found;
}

/** `.partial` files and unfinished multipart uploads under prefix. */
export async function storeLeftovers(store: BackupStore, prefix: string): Promise<Leftover[]> {
  return (await store.unfinished(prefix)).map((w: UnfinishedWrite) => ({
    kind: w.uploadId ? 'upload' : 'partial-file',
    name: w.key,
    where: store.description,
    createdAt: w.startedAt,
    size: w.size,
    ...(w.writer ? { owner: w.writer.name } : {}),
    ...(w.writer?.running ? { inUse: `${w.writer.name} is still writing it` } : {}),
    remove: () => store.discard(w),
  }));
}

export interface Judgement {
  leftover: Leftover;
  remove: boolean;
  reason: string;
}

interface RetentionRules {
  now: Date;
  /** backup.retention.leftovers */
  keepMs: number;
  /** A live lock of the service × environment: what was made since it was taken belongs to its holder. */
  lockedSince?: string | null;
}

/** Which leftovers prune removes: older than the retention, not in use, not the lock holder's. */
export function judgeLeftovers(found: readonly Leftover[], rules: RetentionRules): Judgement[] {
  const lockedAt = rules.lockedSince ? Date.parse(rules.lockedSince) : undefined;
  return [...found]
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    .map((leftover) => {
      const made = Date.parse(leftover.createdAt);
      const age = rules.now.getTime() - made;
      if (leftover.inUse) return { leftover, remove: false, reason: `in use: ${leftover.inUse}` };
      if (lockedAt !== undefined && made >= lockedAt)
        return { leftover, remove: false, reason: `made under the lock held since ${rules.lockedSince}` };
      if (age < rules.keepMs) return { leftover, remove: false, reason: 'within backup.retention.leftovers' };
      return { leftover, remove: true, reason: 'older than backup.retention.leftovers' };
    });
}

/**
 * Names the run that left a database or a volume's files, from the history record that mentions it
 * (replacedDatabaseKeptAs, replacedVolumesKeptAs).
 */
export function withOwners(found: readonly Leftover[], records: readonly HistoryRecord[]): Leftover[] {
  return found.map((l) => {
    if (l.owner || !/-(database|volume)$/.test(l.kind)) return l;
    const r = records.find((x) => JSON.stringify(x.details).includes(`"${l.name}"`));
    return r ? { ...l, owner: `${r.operation} ${r.id}` } : l;
  });
}
