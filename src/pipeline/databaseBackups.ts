import { findBackup } from '../backup/catalog.js';
import { createBackup } from '../backup/create.js';
import { swapDatabases } from '../backup/database.js';
import { progressText } from '../backup/progress.js';
import { restoreNames, restoreToNewDatabase } from '../backup/restore.js';
import { verifyBackup } from '../backup/verify.js';
import { formatBytes } from '../kernel/validate.js';
import { coopctlVersion } from '../kernel/version.js';
import { backupIdentities, backupSource, encryptionSettings, openBackupStore } from '../targets/backups.js';
import type { Target } from '../targets/target.js';
import type { Workspace } from '../targets/workspace.js';
import type { SafetyBackups } from '../targets/safety.js';

/** How a change keeps the target's data safe: the driver's own backups, else coopctl's database dumps. */
export function safetyBackupsFor(ws: Workspace, t: Target): SafetyBackups {
  const backups = t.driver.safetyBackups?.(ws) ?? databaseBackups(ws);
  return ws.config.backup.requiredBeforeChange ? backups : { ...backups, off: 'backup.requiredBeforeChange: false' };
}

/** coopctl's own dumps (age(zstd(pg_dump))) in the configured store, as the safety net of every change. */
function databaseBackups(ws: Workspace): SafetyBackups {
  return {
    describe: (t) => `database${t.profile.secretsFile ? ` + ${t.profile.secretsFile}` : ''}`,

    async create(t, version, ctx) {
      const store = await openBackupStore(ws);
      const text = progressText();
      const manifest = await createBackup({
        source: backupSource(t, version),
        store,
        encryption: encryptionSettings(ws),
        coopctlVersion: coopctlVersion(),
        onProgress: (pr) => ctx.title(`Safety backup: ${text(pr)}`),
        signal: ctx.signal,
      });
      await verifyBackup({ store, manifest, onProgress: (pr) => ctx.title(`Verifying the backup: ${text(pr)}`) });
      return { id: manifest.id, summary: `${manifest.id}, ${formatBytes(manifest.size)}, hash-checked` };
    },

    async restore(t, id, ctx, storeName) {
      const { db } = backupSource(t);
      const store = await openBackupStore(ws, storeName);
      const manifest = await findBackup(store, id, { service: t.service });
      const names = restoreNames(db.name);
      const text = progressText();
      const restored = await restoreToNewDatabase({
        store,
        manifest,
        identities: await backupIdentities(ws),
        target: { host: t.remote, db },
        database: names.restored,
        onProgress: (pr) => ctx.title(`Restoring ${manifest.id}: ${text(pr)}`),
      });
      ctx.report(`restored into ${restored.database}; row counts match the backup`);
      // Nothing may hold the live database while it is renamed.
      await t.driver.stopServices(ws, t, await t.profile.databaseClients(t));
      await swapDatabases(t.remote, db, { live: db.name, restored: names.restored, previous: names.previous });
      return { live: db.name, previous: names.previous };
    },
  };
}
