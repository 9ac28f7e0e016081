import { mapLimit } from '../kernel/concurrency.js';
import { errorMessage, InputError } from '../kernel/errors.js';
import { assertName } from '../kernel/validate.js';
import { BackupError } from './errors.js';
import { assertBackupId, backupDir, FILE_NAMES, manifestKey, parseManifestKey } from './ids.js';
import {
  isVerified,
  newestFirst,
  parseManifest,
  serializeManifest,
  verifiedHow,
  type Manifest,
  type VerifiedHow,
} from './manifest.js';
import type { SizePoint } from './growth.js';
import type { BackupStore } from './store/types.js';

/**
 * What is in a store: backups are the manifests. Objects without a manifest
 * (an interrupted backup) are not backups and are never listed.
 */
export interface BackupFilter {
  service?: string;
  env?: string;
}

interface Listing {
  /** Newest first. */
  backups: Manifest[];
  /** Manifests that could not be read or do not validate: reported, never trusted. */
  problems: { key: string; message: string }[];
}

function prefixOf(f: BackupFilter): string {
  if (!f.service) return '';
  return `${assertName(f.service, 'service')}/${f.env ? `${assertName(f.env, 'environment')}/` : ''}`;
}

async function manifestKeys(store: BackupStore, filter: BackupFilter = {}): Promise<string[]> {
  const keys = await store.list(prefixOf(filter));
  return keys.filter((k) => {
    const p = parseManifestKey(k);
    return (
      p !== undefined && (!filter.service || p.service === filter.service) && (!filter.env || p.env === filter.env)
    );
  });
}

export async function listBackups(store: BackupStore, filter: BackupFilter = {}): Promise<Listing> {
  const keys = await manifestKeys(store, filter);
  const backups: Manifest[] = [];
  const problems: Listing['problems'] = [];
  await mapLimit(keys, 8, async (key) => {
    try {
      const m = parseManifest(await store.getText(key), key);
      const p = parseManifestKey(key)!;
      if (m.id !== p.id || m.service !== p.service || m.env !== p.env) {
        problems.push({ key, message: `manifest says ${m.service}/${m.env}/${m.id}, which is not where it is stored` });
      } else backups.push(m);
    } catch (err) {
      problems.push({ key, message: errorMessage(err) });
    }
  });
  backups.sort(newestFirst);
  problems.sort((a, b) => a.key.localeCompare(b.key));
  return { backups, problems };
}

/** A backup by id; ids are unique across services (time + random suffix). */
export async function findBackup(store: BackupStore, id: string, filter: BackupFilter = {}): Promise<Manifest> {
  assertBackupId(id);
  const keys = (await manifestKeys(store, filter)).filter((k) => parseManifestKey(k)!.id === id);
  if (keys.length === 0) {
    throw new InputError(
      `no backup ${id} in ${store.description}` +
        `${filter.service ? ` for ${filter.service}${filter.env ? `/${filter.env}` : ''}` : ''}`,
      {
        code: 'not-found',
        hints: ['coopctl backup list shows the backups there are'],
      },
    );
  }
  if (keys.length > 1)
    throw new InputError(`backup id ${id} is ambiguous: ${keys.join(', ')}; name the service and --env`);
  return parseManifest(await store.getText(keys[0]), keys[0]);
}

/**
 * The newest backup of a service × environment (for `status`): reads only
 * its manifest; ids sort by time.
 */
/** The newest backup of a service × environment, as `status` shows it. */
export interface LastBackup {
  id: string;
  createdAt: string;
  verified: boolean;
  verifiedHow: VerifiedHow | null;
}

export async function latestBackup(store: BackupStore, service: string, env: string): Promise<LastBackup | null> {
  const keys = await manifestKeys(store, { service, env });
  const newest = keys.sort().at(-1);
  if (!newest) return null;
  const m = parseManifest(await store.getText(newest), newest);
  return { id: m.id, createdAt: m.createdAt, verified: isVerified(m), verifiedHow: verifiedHow(m) };
}

/**
 * The database's size at each of the newest `limit` backups, oldest first (for its growth: growth.ts). A manifest
 * that does not read is left out: the others still tell the trend.
 */
export async function databaseSizes(
  store: BackupStore,
  service: string,
  env: string,
  limit: number,
): Promise<SizePoint[]> {
  const keys = (await manifestKeys(store, { service, env })).sort().slice(-limit);
  const points = await mapLimit(keys, 8, async (key) => {
    try {
      const m = parseManifest(await store.getText(key), key);
      return [{ at: m.createdAt, bytes: m.database.size }];
    } catch {
      return [];
    }
  });
  return points.flat().sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/**
 * A backup by id, or SERVICE/ENV for the newest backup of that service × environment (what a scheduled restore
 * test names, not knowing the id the night's backup got).
 */
export async function findBackupOrNewest(store: BackupStore, ref: string): Promise<Manifest> {
  const pair = /^([^/]+)\/([^/]+)$/.exec(ref);
  if (!pair) return findBackup(store, ref);
  const [service, env] = [assertName(pair[1], 'service'), assertName(pair[2], 'environment')];
  const newest = await latestBackup(store, service, env);
  if (!newest) throw new InputError(`no backup of ${service}/${env} in ${store.description}`, { code: 'not-found' });
  return findBackup(store, newest.id, { service, env });
}

/** Replaces the manifest (verification results); stores replace small objects atomically. */
export async function writeManifest(store: BackupStore, m: Manifest): Promise<void> {
  await store.putText(manifestKey(m.service, m.env, m.id), serializeManifest(m));
}

export function objectKey(m: Manifest, name: string): string {
  if (!m.files.some((f) => f.name === name) && name !== FILE_NAMES.manifest) {
    throw new BackupError('bad-manifest', `backup ${m.id} has no file ${name}`);
  }
  return backupDir(m.service, m.env, m.id) + name;
}
