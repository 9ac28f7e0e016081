import type { BackupSource } from '../backup/create.js';
import { InputError } from '../kernel/errors.js';
import type { Target } from './target.js';

/** The target's database and secrets file as a backup source. */
export function backupSource(t: Target, version?: string | null): BackupSource & { tables: string[] } {
  if (!t.database) {
    throw new InputError(
      `${t.service} is deployed by ${t.driver.id} and its profile (${t.profile.id}) names no database: ` +
        `coopctl does not dump it (abra app backup does, for abra apps)`,
    );
  }
  const secrets = t.profile.secretsFile;
  return {
    service: t.service,
    env: t.env,
    host: t.remote,
    db: t.database,
    tables: t.database.tables,
    secretsFile: secrets ? `${t.paths.dataDir}/${secrets}` : undefined,
    version,
    volumes: t.volumes,
  };
}
