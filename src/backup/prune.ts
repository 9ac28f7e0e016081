import { listBackups, objectKey, type BackupFilter } from './catalog.js';
import { FILE_NAMES, isBackupId, manifestKey } from './ids.js';
import { isVerified, newestFirst, verifiedHow, type Manifest } from './manifest.js';
import type { BackupStore } from './store/types.js';

/**
 * Retention, per service × environment: keep the last N, keep the newest
 * backup of each day for D days, and always keep the newest verified backup
 * (a pile of unverified new backups never pushes out the last good one).
 * Planning is pure; deleting is a separate step the caller takes when told.
 *
 * Orphans are the objects of a backup that never got its manifest (it failed
 * and the store was down for the cleanup too): not backups, never listed,
 * removed by prune once they are old enough not to be a backup in progress.
 */
interface RetentionPolicy {
  keepLast: number;
  keepDailyDays: number;
}

interface PruneDecision {
  manifest: Manifest;
  reasons: string[];
}

interface Orphan {
  service: string;
  env: string;
  id: string;
  keys: string[];
}

interface PrunePlan {
  keep: PruneDecision[];
  delete: PruneDecision[];
  orphans: Orphan[];
}

/** Objects of backups without a manifest whose id is older than minAgeMs. */
export function findOrphans(keys: readonly string[], now: Date, minAgeMs = DAY_MS): Orphan[] {
  const dirs = new Map<string, Orphan & { complete: boolean }>();
  for (const key of keys) {
    const [service, env, id, name, ...rest] = key.split('/');
    if (!name || rest.length > 0 || !isBackupId(id)) continue;
    const dir = `${service}/${env}/${id}`;
    const o = dirs.get(dir) ?? { service, env, id, keys: [], complete: false };
    o.keys.push(key);
    if (name === FILE_NAMES.manifest) o.complete = true;
    dirs.set(dir, o);
  }
  const cutoff = now.getTime() - minAgeMs;
  return [...dirs.values()]
    .filter((o) => !o.complete && idTime(o.id) < cutoff)
    .map(({ complete: _, ...o }) => ({ ...o, keys: o.keys.sort() }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

function idTime(id: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id)!;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

const DAY_MS = 86_400_000;

/** Why a backup must stay whatever the policy says (a change uses it: see backupsInUse), or undefined. */
export type KeepAlso = (m: Manifest) => string | undefined;

export function planPrune(
  manifests: readonly Manifest[],
  now: Date,
  policy: RetentionPolicy,
  orphans: Orphan[] = [],
  keepAlso: KeepAlso = () => undefined,
): PrunePlan {
  const groups = new Map<string, Manifest[]>();
  for (const m of manifests) {
    const g = `${m.service}/${m.env}`;
    groups.set(g, [...(groups.get(g) ?? []), m]);
  }
  const plan: PrunePlan = { keep: [], delete: [], orphans };
  const dailySince = now.getTime() - policy.keepDailyDays * DAY_MS;
  for (const [group, list] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    list.sort(newestFirst);
    const newestVerified = list.find(isVerified);
    const newestRestoreTested = list.find((m) => verifiedHow(m) === 'restore-tested');
    const daysSeen = new Set<string>();
    list.forEach((m, i) => {
      const reasons: string[] = [];
      if (i < policy.keepLast) reasons.push(`one of the last ${policy.keepLast}`);
      const day = m.createdAt.slice(0, 10);
      if (Date.parse(m.createdAt) >= dailySince && !daysSeen.has(day)) {
        daysSeen.add(day);
        reasons.push(`newest of ${day} (daily backups are kept ${policy.keepDailyDays} days)`);
      }
      if (m === newestVerified) reasons.push(`newest verified backup of ${group}`);
      if (m === newestRestoreTested) reasons.push(`newest restore-tested backup of ${group}`);
      const used = keepAlso(m);
      if (used) reasons.push(used);
      if (reasons.length > 0) plan.keep.push({ manifest: m, reasons });
      else {
        plan.delete.push({
          manifest: m,
          reasons: [
            `not one of the last ${policy.keepLast}, not the newest of a day within ${policy.keepDailyDays} days, ` +
              'not the newest verified or restore-tested, not used by a change',
          ],
        });
      }
    });
  }
  return plan;
}

/** The plan for a store: its backups (filtered) and its orphans. */
export async function planStorePrune(
  store: BackupStore,
  filter: BackupFilter,
  now: Date,
  policy: RetentionPolicy,
  keepAlso?: KeepAlso,
): Promise<PrunePlan & { problems: { key: string; message: string }[] }> {
  const [listing, keys] = await Promise.all([listBackups(store, filter), store.list('')]);
  const orphans = findOrphans(keys, now).filter(
    (o) => (!filter.service || o.service === filter.service) && (!filter.env || o.env === filter.env),
  );
  return { ...planPrune(listing.backups, now, policy, orphans, keepAlso), problems: listing.problems };
}

/** Deletes what the plan says: each backup's manifest first, so a half-deleted backup is never listed. */
export async function applyPrune(store: BackupStore, plan: PrunePlan): Promise<string[]> {
  const deleted: string[] = [];
  for (const { manifest: m } of plan.delete) {
    await store.delete([manifestKey(m.service, m.env, m.id)]);
    await store.delete(m.files.map((f) => objectKey(m, f.name)));
    deleted.push(m.id);
  }
  for (const o of plan.orphans) {
    await store.delete(o.keys);
    deleted.push(o.id);
  }
  return deleted;
}
