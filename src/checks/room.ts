import type { VolumeSize } from '../backup/volumes.js';
import { formatBytes } from '../kernel/validate.js';
import type { TargetFacts } from '../targets/check.js';
import type { Check } from '../targets/target.js';

/**
 * What a change writes to the host's disks besides what runs there: the database (its dump and on-host copy, its
 * migrations) and the data volumes backed up with it (their archives in the on-host copy; a restore extracts them
 * beside the live ones, host/volume-swap.sh).
 */
export interface Payload {
  dbBytes: number;
  volumes: VolumeSize[];
}

/** What the checks of room share: they ask the host, of a target whose data coopctl copies. */
export const roomCheck: Pick<Check, 'needs' | 'appliesTo'> = {
  needs: ['ssh'],
  appliesTo: (t) => t.database !== undefined,
};

export async function readPayload(facts: TargetFacts): Promise<Payload> {
  const [dbBytes, volumes] = await Promise.all([facts.dbSizeBytes(), facts.volumeBytes()]);
  return { dbBytes, volumes };
}

/** One more on-host backup copy: at most the database's and the volumes' sizes (zstd of uploads gains little). */
export function copyBytes(p: Payload): number {
  return p.volumes.reduce((n, v) => n + v.bytes, p.dbBytes);
}

/** The room a change needs on the data dir and the temporary dir: headroom × (database + volumes), at least min. */
export function changeRoom(p: Payload, checks: { diskHeadroom: number; minFreeBytes: number }): number {
  return Math.max(checks.minFreeBytes, Math.ceil(copyBytes(p) * checks.diskHeadroom));
}

/** What the headroom multiplies: `the database`, or `the database and volumes upload-data, images`. */
export function headroomOf(p: Payload): string {
  return p.volumes.length
    ? `the database and volumes ${p.volumes.map((v) => v.volume.name).join(', ')}`
    : 'the database';
}

/** `database 9.1 MiB`, then the volumes with each one's size: `, volumes 7.6 MiB (upload-data 7.6 MiB)`. */
export function describePayload(p: Payload): string {
  const db = `database ${formatBytes(p.dbBytes)}`;
  if (!p.volumes.length) return db;
  const each = p.volumes.map((v) => `${v.volume.name} ${formatBytes(v.bytes)}`).join(', ');
  return `${db}, volumes ${formatBytes(copyBytes(p) - p.dbBytes)} (${each})`;
}
