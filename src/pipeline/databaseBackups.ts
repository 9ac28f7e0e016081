import { findBackup } from '../backup/catalog.js';
import { sendOffsite, takeHostCopy } from '../backup/createOnHost.js';
import { findHostCopy, hostCopyFile, restoreFromHostCopy } from '../backup/hostCopy.js';
import { discardDatabase, swapDatabases } from '../backup/database.js';
import { databaseLeftovers } from '../backup/leftovers.js';
import { mariadbSwapNotDone } from '../backup/mariadbHost.js';
import { progressText, type Progress } from '../backup/progress.js';
import { restoreNames, restoreToNewDatabase } from '../backup/restore.js';
import { verifyBackup } from '../backup/verify.js';
import {
  discardExtracts,
  extractVolumesBeside,
  extractVolumesFromCopy,
  replacedDir,
  swapVolumes,
  volumeStamp,
  type ExtractedVolume,
} from '../backup/volumeRestore.js';
import { formatBytes } from '../kernel/validate.js';
import { coopctlVersion } from '../kernel/version.js';
import { backupIdentities, encryptionSettings, openBackupStore } from '../backup/configured.js';
import { backupSource } from '../targets/backupSource.js';
import type { SafetyBackups, Target } from '../targets/target.js';
import type { Workspace } from '../workspace/workspace.js';
import type { DbTarget } from '../backup/commands.js';
import type { RemoteHost } from '../remote/ssh.js';

/** How a change keeps the target's data safe: the driver's own backups, else coopctl's database dumps. */
export function safetyBackupsFor(ws: Workspace, t: Target): SafetyBackups {
  const backups = t.driver.safetyBackups?.(ws, t) ?? databaseBackups(ws);
  return ws.config.backup.requiredBeforeChange ? backups : { ...backups, off: 'backup.requiredBeforeChange: false' };
}

/**
 * coopctl's own dumps (age(zstd(pg_dump))) as the safety net of every change: first a checked copy on the host
 * (what the automatic restore uses, no network needed), then the same bytes encrypted to the configured store.
 */
function databaseBackups(ws: Workspace): SafetyBackups {
  const describe = (t: Target) =>
    [
      'database',
      ...(t.profile.secretsFile ? [t.profile.secretsFile] : []),
      ...t.volumes.map((v) => `volume ${v.name}`),
    ].join(' + ');
  const storeName = ws.config.backup.store;
  const through = ws.config.backup.stores[storeName]?.type === 's3' ? 'from the host' : 'through this machine';
  return {
    describe,
    steps: (t) => ({
      copy:
        `Safety copy on ${t.host.name} (${describe(t)}), checked: size, sha256, ` +
        (t.database?.engine === 'mariadb' ? "mariadb-dump's footer" : 'pg_restore --list'),
      offsite:
        `Offsite copy to the ${storeName} store, encrypted, ${through} ` +
        '(waits for the safety copy; the deploy waits for both)',
    }),

    async create(t, version, ctx) {
      const store = await openBackupStore(ws);
      const text = progressText();
      const o = {
        source: backupSource(t, version),
        store,
        encryption: encryptionSettings(ws),
        coopctlVersion: coopctlVersion(),
        onProgress: (pr: Progress) => ctx.title(`Safety copy: ${text(pr)}`),
        signal: ctx.signal,
        onHost: {
          dir: t.paths.backupDir,
          keep: ws.config.backup.onHost.keep,
          history: { remote: t.remote, stateDir: t.paths.stateDir },
        },
      };
      const copied = await takeHostCopy(o);
      ctx.report(`on ${t.host.name}: ${hostCopyFile(copied.copy)}`);
      return {
        id: copied.copy.id,
        summary: `${copied.copy.id}, ${formatBytes(copied.size)}, checked on ${t.host.name}`,
        async offsite(octx) {
          const sent = text;
          const manifest = await sendOffsite(
            { ...o, onProgress: (pr) => octx.title(`Offsite copy: ${sent(pr)}`), signal: octx.signal },
            copied,
          );
          // The hashes of an S3 upload were taken on the host as the bytes went up; a local store is read back here.
          if (store.hostAccess) return `${formatBytes(manifest.size)} in ${store.description}, hashed on the host`;
          await verifyBackup({ store, manifest, onProgress: (pr) => octx.title(`Verifying the backup: ${text(pr)}`) });
          return `${formatBytes(manifest.size)} in ${store.description}, hash-checked`;
        },
      };
    },

    async restore(t, id, ctx, reach, storeName) {
      const { db } = backupSource(t);
      const names = restoreNames(db.name);
      const stamp = volumeStamp();
      const copy = { base: t.paths.backupDir, service: t.service, env: t.env, id };
      const onHost = await findHostCopy(t.remote, copy);
      let volumes: ExtractedVolume[];
      if (onHost) {
        ctx.report(`from the on-host copy ${hostCopyFile(copy)} (no network)`);
        ctx.title(`Restoring ${id} from the copy on ${t.host.name}`);
        await restoreFromHostCopy(t.remote, db, copy, onHost, names.restored, { signal: ctx.signal });
        volumes = await extractVolumesFromCopy(t.remote, copy, id, onHost.volumes, t.volumes, stamp, ctx.signal).catch(
          dropping(t.remote, db, names.restored),
        );
      } else {
        const store = await openBackupStore(ws, storeName);
        const manifest = await findBackup(store, id, { service: t.service });
        const text = progressText();
        const read = {
          store,
          manifest,
          identities: await backupIdentities(ws),
          onProgress: (pr: Progress) => ctx.title(`Restoring ${manifest.id}: ${text(pr)}`),
          signal: ctx.signal,
        };
        await restoreToNewDatabase({ ...read, target: { host: t.remote, db }, database: names.restored });
        volumes = await extractVolumesBeside({ ...read, host: t.remote, volumes: t.volumes, stamp }).catch(
          dropping(t.remote, db, names.restored),
        );
      }
      ctx.report(`restored into ${names.restored}; row counts match the backup`);
      for (const v of volumes)
        ctx.report(
          `volume ${v.volume.volume}: ${v.files} files, ${formatBytes(v.bytes)} beside it; the hash list matches`,
        );
      // Nothing may hold the live database while it is renamed, nor the volumes' files.
      reach.appStopped = true;
      try {
        await t.driver.stopServices(ws, t, await t.profile.databaseClients(t));
      } catch (err) {
        await discardExtracts(t.remote, volumes, stamp);
        throw err;
      }
      const swap = { live: db.name, restored: names.restored, previous: names.previous };
      // One transaction renames both or neither; an error (the connection lost) may still come after its COMMIT.
      reach.dataReplaced = true;
      try {
        await swapDatabases(t.remote, db, swap);
      } catch (err) {
        if (await swapNotDone(t.remote, db, swap)) reach.dataReplaced = false;
        await discardExtracts(t.remote, volumes, stamp);
        throw err;
      }
      await swapVolumes(t.remote, volumes, stamp);
      return {
        live: [db.name, ...volumes.map((v) => `volume ${v.volume.volume}`)].join(', '),
        previous: names.previous,
        volumesKept: volumes.map((v) => replacedDir(v.mountpoint, stamp)),
      };
    },
  };
}

/** A volume that could not be extracted: the database restored beside the live one is dropped too. */
function dropping(host: RemoteHost, db: DbTarget, database: string) {
  return async (err: unknown): Promise<never> => {
    await discardDatabase(host, db, database).catch(() => {});
    throw err;
  };
}

/**
 * After a swap that failed: true when the host shows it did not happen (the restored copy still under its own
 * name, no replaced one), and that copy is then dropped (the live database was never touched). false when the
 * host cannot tell: the swap may have happened.
 */
async function swapNotDone(
  host: RemoteHost,
  db: DbTarget,
  swap: { live: string; restored: string; previous: string },
): Promise<boolean> {
  if (db.engine === 'mariadb') return mariadbSwapNotDone(host, db, swap);
  try {
    const found = await databaseLeftovers(host, db, { live: swap.live });
    const restored = found.find((l) => l.name === swap.restored);
    if (!restored || found.some((l) => l.name === swap.previous)) return false;
    await restored.remove().catch(() => {}); // `backup leftovers` lists it if it stays
    return true;
  } catch {
    return false;
  }
}
