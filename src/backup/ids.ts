import { randomBytes } from 'node:crypto';
import { InputError } from '../kernel/errors.js';
import { assertName } from '../kernel/validate.js';

/**
 * Backup ids sort by time as plain strings (UTC timestamp first) and are safe
 * as a path segment and an S3 key part: 20251126T035812Z-3f9a1c.
 */
const ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export function newBackupId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function isBackupId(value: string): boolean {
  return ID.test(value);
}

export function assertBackupId(value: string): string {
  if (!isBackupId(value)) {
    throw new InputError(
      `${JSON.stringify(value)} is not a backup id (expected something like 20251126T035812Z-3f9a1c)`,
    );
  }
  return value;
}

export const FILE_NAMES = {
  manifest: 'manifest.json',
  database: { encrypted: 'db.dump.zst.age', plain: 'db.dump.zst' },
  /** Only ever stored encrypted. */
  secrets: 'env.production.age',
} as const;

/** Store keys of one backup, relative to the store's root (a store adds its own prefix). */
export function backupDir(service: string, env: string, id: string): string {
  return `${assertName(service, 'service')}/${assertName(env, 'environment')}/${assertBackupId(id)}/`;
}

export function manifestKey(service: string, env: string, id: string): string {
  return backupDir(service, env, id) + FILE_NAMES.manifest;
}

/** Splits "<service>/<env>/<id>/manifest.json"; undefined for anything else. */
export function parseManifestKey(key: string): { service: string; env: string; id: string } | undefined {
  const parts = key.split('/');
  if (parts.length !== 4 || parts[3] !== FILE_NAMES.manifest || !isBackupId(parts[2])) return undefined;
  return { service: parts[0], env: parts[1], id: parts[2] };
}
