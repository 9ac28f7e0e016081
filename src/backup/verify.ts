import { errorMessage } from '../kernel/errors.js';
import type { RemoteHost } from '../remote/ssh.js';
import { writeManifest } from './catalog.js';
import { restoreListArgv, type DbTarget } from './commands.js';
import { mariadbCopyArgv } from './mariadb.js';
import { BackupError, isVerdictOnBackup } from './errors.js';
import { volumeParts, withVerification, type Manifest, type Verification, type VerificationKind } from './manifest.js';
import type { ProgressListener } from './progress.js';
import { readBack } from './readback.js';
import type { BackupStore } from './store/types.js';

interface VerifyOptions {
  store: BackupStore;
  manifest: Manifest;
  /** age identities (parseIdentities of the resolved backup.encryption.identity). */
  identities?: readonly string[];
  /**
   * A host with pg_restore (the restore-test host) for the `pg_restore --list`
   * check of the decrypted dump. Without it only the stored bytes are hashed,
   * which needs no key.
   */
  lister?: { host: RemoteHost; db: DbTarget };
  /** S3 stores: the host that streams and hashes the object without a lister (else this machine does). */
  hashOn?: RemoteHost;
  onProgress?: ProgressListener;
  now?: () => Date;
  /** false: check only, leave the manifest as it is (--dry-run). */
  record?: boolean;
  signal?: AbortSignal;
}

export interface VerifyOutcome {
  /** The manifest with this result appended (as written to the store). */
  manifest: Manifest;
  verification: Verification;
}

/**
 * Appends a result to the manifest in the store. A failure to record never
 * hides a failed check: the check's error wins, with the recording problem
 * as a hint.
 */
async function recordVerification(
  store: BackupStore,
  m: Manifest,
  v: Verification,
  failure?: unknown,
): Promise<Manifest> {
  const updated = withVerification(m, v);
  try {
    await writeManifest(store, updated);
  } catch (err) {
    if (failure instanceof BackupError)
      failure.hints.push(`the result could not be recorded in the manifest: ${errorMessage(err)}`);
    if (failure !== undefined) throw failure;
    throw err;
  }
  return updated;
}

/** Runs a check and records its verdict (pass, or a failure that is the backup's fault), then rethrows failures. */
export async function checked(
  o: { store: BackupStore; manifest: Manifest; now?: () => Date; record?: boolean },
  kind: VerificationKind,
  check: () => Promise<Record<string, unknown>>,
): Promise<VerifyOutcome> {
  const now = o.now ?? (() => new Date());
  let details: Record<string, unknown>;
  try {
    details = await check();
  } catch (err) {
    if (isVerdictOnBackup(err) && o.record !== false) {
      const v: Verification = {
        at: now().toISOString(),
        kind,
        ok: false,
        details: { code: err.code, message: err.message, ...err.details },
      };
      await recordVerification(o.store, o.manifest, v, err);
    }
    throw err;
  }
  const v: Verification = { at: now().toISOString(), kind, ok: true, details };
  if (o.record === false) return { manifest: withVerification(o.manifest, v), verification: v };
  return { manifest: await recordVerification(o.store, o.manifest, v), verification: v };
}

/** Table-of-contents entries of `pg_restore --list` output (comment lines start with ';'). */
function tocEntries(listing: string): string[] {
  return listing.split('\n').filter((l) => l.trim() && !l.startsWith(';'));
}

/**
 * `backup verify`: stream the object back and check its sha256 and size; with
 * a lister, also decrypt it and have pg_restore read its table of contents,
 * which must hold the data of every table the manifest counted.
 */
export function verifyBackup(o: VerifyOptions): Promise<VerifyOutcome> {
  const m = o.manifest;
  const kind: VerificationKind = o.lister ? 'restore-list' : 'hash';
  const mariadb = o.lister?.db.engine === 'mariadb';
  return checked(o, kind, async () => {
    const r = await readBack({
      store: o.store,
      manifest: m,
      identities: o.identities,
      into: o.lister && {
        host: o.lister.host,
        tool: mariadb ? mariadbCopyArgv(o.lister.db).check : restoreListArgv(o.lister.db),
        mutates: false,
        what: mariadb ? "the dump's check" : 'pg_restore --list',
        failure: 'corrupt-dump',
      },
      hashOn: o.hashOn,
      phase: 'download',
      onProgress: o.onProgress,
      signal: o.signal,
    });
    const details: Record<string, unknown> = { sha256: r.sha256, size: r.bytes };
    // Each volume's stored objects hashed too (as the database's: here, or on the host for an S3 store): a changed
    // archive or hash list is found without a restore test.
    const volumes = [];
    for (const { volume, archive, list } of volumeParts(m)) {
      for (const file of [archive, list])
        await readBack({ store: o.store, manifest: m, file, hashOn: o.hashOn, phase: 'download', signal: o.signal });
      volumes.push(volume.name);
    }
    if (volumes.length > 0) details.volumesHashed = volumes;
    const on = o.lister?.host ?? o.hashOn;
    if (o.store.hostAccess && on) details.readOn = on.target.name;
    if (o.lister && mariadb) {
      // A table with rows has INSERTs in the dump (host/mariadb-dump-check.sh prints "data TABLE" for each)
      const withData = new Set([...(r.stdout ?? '').matchAll(/^data (\S+)$/gm)].map((x) => x[1]));
      const missing = Object.entries(m.database.rowCounts).filter(([t, n]) => n > 0 && !withData.has(t));
      if (missing.length > 0)
        throw new BackupError(
          'corrupt-dump',
          `backup ${m.id}: the dump holds no rows of ${missing.map(([t]) => t).join(', ')}` +
            ' — it is not what the manifest describes',
        );
      Object.assign(details, {
        plainSha256: r.plainSha256,
        tablesWithData: withData.size,
        host: o.lister.host.target.name,
      });
    } else if (o.lister) {
      const toc = tocEntries(r.stdout ?? '');
      const withData = new Set(toc.map((l) => / TABLE DATA \S+ (\S+) /.exec(l)?.[1]).filter((t) => t !== undefined));
      const missing = Object.keys(m.database.rowCounts).filter((t) => !withData.has(t));
      if (toc.length === 0 || missing.length > 0) {
        throw new BackupError(
          'corrupt-dump',
          `backup ${m.id}: pg_restore --list ` +
            `${toc.length === 0 ? 'found no entries' : `shows no data for ${missing.join(', ')}`}` +
            ' — the dump is not what the manifest describes',
        );
      }
      Object.assign(details, { plainSha256: r.plainSha256, tocEntries: toc.length, host: o.lister.host.target.name });
    }
    return details;
  });
}
