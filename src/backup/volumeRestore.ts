import { randomBytes } from 'node:crypto';
import path from 'node:path/posix';
import type { RemoteHost } from '../remote/ssh.js';
import { BackupError } from './errors.js';
import { hostCopyDir, type HostCopy } from './hostCopy.js';
import { hostProgram, hostScript } from './hostProgram.js';
import { stopsWithChannel } from './hostRun.js';
import { volumeParts, type Manifest, type VolumeInfo } from './manifest.js';
import type { ProgressListener } from './progress.js';
import type { BackupStore } from './store/types.js';
import { volumeArchive } from './volumeCopy.js';
import { compareArgs, compared, compareProgram, extractVolume } from './volumeVerify.js';
import { volumeMountpoint, type BackupVolume } from './volumes.js';

/**
 * A real restore of a backup's volumes, as steps beside the database's: each archive extracted BESIDE the live
 * volume (`<Mountpoint>.coopctl-restored-STAMP`, the same filesystem) and checked against its hash list; then,
 * with the app's services stopped, swapped in by two renames (the replaced files kept as
 * `<Mountpoint>.coopctl-before-STAMP`); undone by the reverse renames.
 */
export interface ExtractedVolume {
  volume: BackupVolume;
  mountpoint: string;
  files: number;
  bytes: number;
}

/** A suffix no earlier restore used: the time and a random part. */
export function volumeStamp(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]|\.\d{3}/g, '')}-${randomBytes(3).toString('hex')}`;
}

const restoredDir = (mountpoint: string, stamp: string) => `${mountpoint}.coopctl-restored-${stamp}`;
export const replacedDir = (mountpoint: string, stamp: string) => `${mountpoint}.coopctl-before-${stamp}`;

/** The target's volume for each of the backup's: every one must be named in the target's `volumes:`. */
function pair<T extends { volume: VolumeInfo }>(
  id: string,
  parts: readonly T[],
  volumes: readonly BackupVolume[],
): Array<T & { target: BackupVolume }> {
  return parts.map((p) => {
    const target = volumes.find((v) => v.name === p.volume.name);
    if (!target)
      throw new BackupError(
        'database-step-failed',
        `backup ${id} holds volume ${p.volume.name}, which the target does not name in volumes: (it names ` +
          `${volumes.map((v) => v.name).join(', ') || 'none'}); nothing was restored`,
      );
    return { ...p, target };
  });
}

/** Removes extracts that will not be swapped in (a later step failed); best effort. */
export async function discardExtracts(host: RemoteHost, done: readonly ExtractedVolume[], stamp: string) {
  const dirs = done.map((d) => restoredDir(d.mountpoint, stamp));
  if (dirs.length) await host.exec(['rm', '-rf', '--', ...dirs], { mutates: true, reject: false }).catch(() => {});
}

async function eachExtracted<T extends { target: BackupVolume }>(
  host: RemoteHost,
  pairs: readonly T[],
  stamp: string,
  extract: (p: T, dest: string) => Promise<{ files: number; bytes: number }>,
): Promise<ExtractedVolume[]> {
  const done: ExtractedVolume[] = [];
  try {
    for (const p of pairs) {
      const mountpoint = await volumeMountpoint(host, p.target);
      const r = await extract(p, restoredDir(mountpoint, stamp));
      done.push({ volume: p.target, mountpoint, files: r.files, bytes: r.bytes });
    }
  } catch (err) {
    await discardExtracts(host, done, stamp);
    throw err;
  }
  return done;
}

/** From the store: each volume part read back on the target's host and extracted beside its live volume. */
export async function extractVolumesBeside(o: {
  store: BackupStore;
  manifest: Manifest;
  identities?: readonly string[];
  host: RemoteHost;
  volumes: readonly BackupVolume[];
  stamp: string;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}): Promise<ExtractedVolume[]> {
  const pairs = pair(o.manifest.id, volumeParts(o.manifest), o.volumes);
  return eachExtracted(o.host, pairs, o.stamp, (part, dest) => extractVolume({ ...o, part, dest, mode: 'keep' }));
}

/** From the on-host copy (no network, no key): its archives and hash lists, as the copy's manifest lists them. */
export async function extractVolumesFromCopy(
  host: RemoteHost,
  copy: HostCopy,
  id: string,
  inCopy: readonly VolumeInfo[],
  volumes: readonly BackupVolume[],
  stamp: string,
  signal?: AbortSignal,
): Promise<ExtractedVolume[]> {
  const pairs = pair(
    id,
    inCopy.map((volume) => ({ volume })),
    volumes,
  );
  return eachExtracted(host, pairs, stamp, async ({ volume }, dest) => {
    const archive = volumeArchive(copy, volume.name);
    const sums = path.join(hostCopyDir(copy), `volume-${volume.name}.sums.zst`);
    const cmd = stopsWithChannel(hostScript(compareProgram(), compareArgs(dest, sums, 'keep', archive)));
    const r = await host.exec(cmd, { mutates: true, reject: false, signal });
    if (r.exitCode !== 0)
      throw new BackupError('corrupt-dump', `${archive} did not extract on ${host.target.name}: ${r.stderr.trim()}`);
    return compared(id, volume, r.stdout, host);
  });
}

/**
 * With the app stopped: each extract in place of its volume's files; on a failure the ones done are undone and the
 * extracts removed.
 */
export async function swapVolumes(host: RemoteHost, extracted: readonly ExtractedVolume[], stamp: string) {
  const done: ExtractedVolume[] = [];
  try {
    for (const e of extracted) {
      await swapStep(host, 'swap', e, stamp);
      done.push(e);
    }
  } catch (err) {
    // undone, the extracts are of no use; if the undo failed they are kept: one may hold the only copy in place
    const undone = await undoVolumeSwaps(host, done, stamp).then(
      () => true,
      () => false,
    );
    if (undone) await discardExtracts(host, extracted, stamp);
    throw err;
  }
}

/** The swaps undone: the replaced files back in place, the restored ones beside them again. */
async function undoVolumeSwaps(host: RemoteHost, swapped: readonly ExtractedVolume[], stamp: string) {
  for (const e of [...swapped].reverse()) await swapStep(host, 'undo', e, stamp);
}

async function swapStep(host: RemoteHost, op: 'swap' | 'undo', e: ExtractedVolume, stamp: string): Promise<void> {
  const r = await host.exec(hostScript(hostProgram('volume-swap'), [op, e.mountpoint, stamp]), {
    mutates: true,
    reject: false,
  });
  if (r.exitCode !== 0)
    throw new BackupError(
      'database-step-failed',
      `${op} of volume ${e.volume.volume} on ${host.target.name} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`,
    );
}
