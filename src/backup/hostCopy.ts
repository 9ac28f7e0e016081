import path from 'node:path/posix';
import { z } from 'zod';
import { InputError } from '../kernel/errors.js';
import type { RemoteHost } from '../remote/ssh.js';
import { assertLevel, dumpOnlyArgv, dumpSession, listArgv, restoreCommand, type DbTarget } from './commands.js';
import { createDatabase, discardDatabase, rowCounts } from './database.js';
import { BackupError } from './errors.js';
import { hostProgram, hostScript } from './hostProgram.js';
import { mariadbCopyArgv, mariadbLoadCommand } from './mariadb.js';
import { required, runReporting, scriptFailure, stopsWithChannel } from './hostRun.js';
import { assertBackupId, FILE_NAMES } from './ids.js';
import { assertName } from '../kernel/validate.js';
import { ProgressWatch } from '../remote/progress.js';
import { watchRestore } from './restoreProgress.js';

/**
 * The on-host copy: zstd(pg_dump -Fc -Z0) in a root-only directory of the host, outside the Docker volumes
 * (backup.onHost.dir, or the inventory's coopctl_backup_dir): `<dir>/<service>/<env>/<id>/db.dump.zst` and a small
 * manifest.json. Written as `.partial` and renamed when complete, then checked there (size, sha256, zstd -t,
 * pg_restore --list); only a checked copy gets its manifest, and only then are older copies pruned.
 */
export interface HostCopy {
  /** The backup directory on the host. */
  base: string;
  service: string;
  env: string;
  id: string;
}

const HOST_COPY_FILE = FILE_NAMES.database.plain;

export function hostCopyDir(c: HostCopy): string {
  if (!path.isAbsolute(c.base) || /[\n\r]/.test(c.base))
    throw new InputError(`backup.onHost.dir ${JSON.stringify(c.base)} must be an absolute path`);
  return path.join(c.base, assertName(c.service, 'service'), assertName(c.env, 'environment'), assertBackupId(c.id));
}

export function hostCopyFile(c: HostCopy): string {
  return path.join(hostCopyDir(c), HOST_COPY_FILE);
}

const hostManifestSchema = z.object({
  format: z.literal(1),
  id: z.string(),
  service: z.string(),
  env: z.string(),
  createdAt: z.string(),
  file: z.literal(HOST_COPY_FILE),
  size: z.number().int().nonnegative(),
  /** Of the file: the same bytes the store's plainSha256 describes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  checks: z.array(z.string()),
  database: z.object({
    name: z.string(),
    size: z.number(),
    serverVersion: z.string(),
    rowCounts: z.record(z.string(), z.number().int().nonnegative()),
  }),
  /** The volumes archived beside the database (volume-NAME.tar.zst, volume-NAME.sums.zst). */
  volumes: z
    .array(
      z.object({
        name: z.string(),
        docker: z.string(),
        files: z.number().int().nonnegative(),
        bytes: z.number().int().nonnegative(),
        listSha256: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    )
    .default([]),
});
type HostCopyManifest = z.output<typeof hostManifestSchema>;

/** pg_dump in the snapshot → zstd → the copy, checked; its sha256 and size as the host measured them. */
export async function writeHostCopy(
  host: RemoteHost,
  c: HostCopy,
  o: { db: DbTarget; snapshot?: string; level: number; onBytes?: (bytes: number) => void; signal?: AbortSignal },
): Promise<{ file: string; size: number; sha256: string }> {
  const { dump, check } =
    o.db.engine === 'mariadb'
      ? mariadbCopyArgv(o.db)
      : { dump: dumpOnlyArgv(o.db, o.snapshot, dumpSession(c.id)), check: listArgv(o.db) };
  const cmd = hostScript(hostProgram('write-copy'), [
    c.base,
    hostCopyDir(c),
    String(assertLevel(o.level)),
    String(dump.length),
    ...dump,
    ...check,
  ]);
  const r = await runReporting(host, cmd, { onBytes: o.onBytes, signal: o.signal });
  const what = `the on-host copy of ${o.db.name} (${hostCopyDir(c)})`;
  if (r.code !== 0) throw scriptFailure(host, what, r, r.code === 11 ? 'corrupt-dump' : 'dump-failed');
  const m = required(/^copy ([0-9a-f]{64}) (\d+)$/m.exec(r.stdout) ?? undefined, host, what, r);
  return { file: hostCopyFile(c), sha256: m[1], size: Number(m[2]) };
}

/** The manifest next to the checked copy: from now on it counts (a restore may use it). */
export async function writeHostManifest(
  host: RemoteHost,
  c: HostCopy,
  manifest: z.input<typeof hostManifestSchema>,
): Promise<void> {
  const file = `${hostCopyDir(c)}/manifest.json`;
  const r = await host.exec(hostScript(hostProgram('write-private'), [file]), {
    mutates: true,
    stdin: `${JSON.stringify(hostManifestSchema.parse(manifest), null, 2)}\n`,
    reject: false,
  });
  if (r.exitCode !== 0) throw scriptFailure(host, `writing ${file}`, { ...r, code: r.exitCode }, 'dump-failed');
}

/**
 * Keeps the newest `keep` complete copies of c's service×env (c among them), and those `inUse` names (backupsInUse);
 * returns the directories removed.
 */
export async function pruneHostCopies(
  host: RemoteHost,
  c: HostCopy,
  keep: number,
  inUse: ReadonlyMap<string, string>,
): Promise<string[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new InputError(`backup.onHost.keep ${keep}: at least 1`);
  const r = await host.exec(hostScript(hostProgram('prune-copies'), [hostCopyDir(c), String(keep), ...inUse.keys()]), {
    mutates: true,
    reject: false,
  });
  return [...r.stdout.matchAll(/^pruned (.+)$/gm)].map((m) => m[1]);
}

/** Removes a copy (a backup that failed after it was written); best effort. */
export async function removeHostCopy(host: RemoteHost, c: HostCopy): Promise<void> {
  await host.exec(['rm', '-rf', '--', hostCopyDir(c)], { mutates: true, reject: false }).catch(() => {});
}

/** The copy's manifest when the host holds a complete copy of backup `c.id`; undefined when it does not. */
export async function findHostCopy(host: RemoteHost, c: HostCopy): Promise<HostCopyManifest | undefined> {
  const dir = hostCopyDir(c);
  const r = await host.exec(hostScript(hostProgram('show-copy'), [dir]), {
    mutates: false,
    reject: false,
  });
  if (r.exitCode !== 0) return undefined;
  try {
    return hostManifestSchema.parse(JSON.parse(r.stdout));
  } catch {
    throw new BackupError('bad-manifest', `${dir}/manifest.json on ${host.target.name} is not a copy's manifest`);
  }
}

/**
 * The on-host copy into a NEW database beside the live one (no network, no key): zstd -d | pg_restore there, then
 * row counts equal to the copy's manifest. On failure the new database is dropped; the live one is never touched.
 * It runs for as long as the server shows the restore moving (restoreProgress.ts), not within ssh.commandTimeout;
 * when it stalls, or on Ctrl-C (`signal`), it is stopped on the host, its session ended, the new database dropped.
 */
export async function restoreFromHostCopy(
  host: RemoteHost,
  db: DbTarget,
  c: HostCopy,
  copy: HostCopyManifest,
  database: string,
  o: { signal?: AbortSignal } = {},
): Promise<void> {
  if (database === db.name)
    throw new BackupError('database-step-failed', `refusing to restore over the live database ${database}`);
  await createDatabase(host, db, database);
  try {
    const watch = new ProgressWatch();
    const polling = watchRestore(host, db, database, watch);
    const r = await host
      .exec(stopsWithChannel(loadCommand(db, database, hostCopyFile(c))), {
        mutates: true,
        reject: false,
        progress: watch,
        signal: o.signal,
      })
      .finally(() => polling.stop());
    if (r.exitCode !== 0)
      throw scriptFailure(
        host,
        `${db.engine === 'mariadb' ? 'mariadb' : 'pg_restore'} of ${hostCopyFile(c)} into ${database}`,
        { ...r, code: r.exitCode },
        'corrupt-dump',
      );
    const expected = copy.database.rowCounts;
    const counts = await rowCounts(host, db, database, Object.keys(expected));
    const wrong = Object.entries(expected).filter(([t, n]) => counts[t] !== n);
    if (wrong.length > 0) {
      throw new BackupError(
        'restore-mismatch',
        `${hostCopyFile(c)} restored into ${database}, but row counts differ from its manifest: ` +
          wrong.map(([t, n]) => `${t}: expected ${n}, restored ${counts[t] ?? 'no table'}`).join('; '),
      );
    }
  } catch (err) {
    await discardDatabase(host, db, database).catch(() => {});
    throw err;
  }
}

/** The on-host copy into an existing, empty database, with the engine's own tool. */
function loadCommand(db: DbTarget, database: string, file: string) {
  return db.engine === 'mariadb'
    ? mariadbLoadCommand(db, database, file)
    : restoreCommand(db, database, { privileges: true }, file);
}

/** The ids of the complete copies of a service×env on the host, newest first. */
export async function listHostCopies(host: RemoteHost, base: string, service: string, env: string): Promise<string[]> {
  const dir = path.dirname(hostCopyDir({ base, service, env, id: '20000101T000000Z-000000' }));
  const r = await host.exec(hostScript(hostProgram('list-copies'), [dir]), { mutates: false, reject: false });
  return r.stdout
    .split('\n')
    .map((l) => path.basename(l))
    .filter((id) => /^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(id))
    .sort()
    .reverse();
}
