import { randomBytes } from 'node:crypto';
import path from 'node:path/posix';
import { InputError } from '../kernel/errors.js';
import type { RemoteHost } from '../remote/ssh.js';
import { BackupError } from './errors.js';
import { hostProgram } from './hostProgram.js';
import { volumeParts, type Manifest, type VolumeInfo } from './manifest.js';
import type { ProgressListener } from './progress.js';
import { readBack } from './readback.js';
import type { BackupStore } from './store/types.js';

/** The restore test of a backup's volumes: each archive extracted into scratch on `host`, compared with its list. */
interface VolumeTestOptions {
  store: BackupStore;
  manifest: Manifest;
  identities?: readonly string[];
  host: RemoteHost;
  /** A directory of `host` where the scratch extracts go (each a new directory, removed after). */
  scratchDir: string;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

interface VolumeTested {
  name: string;
  files: number;
  bytes: number;
  listSha256: string;
}

/** The argv that writes its stdin (the decrypted hash list) to a root-only file of the host. */
function keepAs(file: string): string[] {
  return ['bash', '-c', 'umask 077 && cat >"$1"', 'coopctl', file];
}

/** host/volume-compare.sh's arguments: extract into `dest` (the archive on stdin, else `archive`), compare. */
export function compareArgs(dest: string, expected: string, mode: 'scratch' | 'keep', archive?: string): string[] {
  return [dest, expected, mode, ...(archive ? [archive] : [])];
}

export const compareProgram = () => hostProgram('volume-list', 'volume-compare');

/**
 * Each volume's hash list, then its archive, read back on the host (hashes of the stored bytes and of the
 * plaintext checked against the manifest on the way); the archive extracted into a new scratch directory, its
 * files listed as they landed: file count, total size and the list's digest must be the manifest's. A mismatch
 * fails (restore-mismatch) naming the first file that differs.
 */
export async function restoreTestVolumes(o: VolumeTestOptions): Promise<VolumeTested[]> {
  if (!path.isAbsolute(o.scratchDir) || /[\n\r]/.test(o.scratchDir))
    throw new InputError(`${JSON.stringify(o.scratchDir)}: the volumes' scratch directory must be an absolute path`);
  const tested: VolumeTested[] = [];
  for (const part of volumeParts(o.manifest)) {
    const dest = path.join(o.scratchDir, `coopctl-scratch-${o.manifest.id}-${randomBytes(3).toString('hex')}`);
    tested.push(await extractVolume({ ...o, part, dest, mode: 'scratch' }));
  }
  return tested;
}

/**
 * A volume part read back on the host (its hash list first, then its archive: the stored bytes' and the
 * plaintext's hashes checked against the manifest on the way), extracted into `dest` and compared there.
 */
export async function extractVolume(
  o: Omit<VolumeTestOptions, 'scratchDir'> & {
    part: ReturnType<typeof volumeParts>[number];
    dest: string;
    mode: 'scratch' | 'keep';
  },
): Promise<VolumeTested> {
  const { volume, archive, list } = o.part;
  const expected = `${o.dest}.sums`;
  const read = { store: o.store, manifest: o.manifest, identities: o.identities, signal: o.signal };
  const into = { host: o.host, mutates: true, failure: 'corrupt-dump' as const };
  await readBack({
    ...read,
    file: list,
    into: { ...into, tool: keepAs(expected), what: `the hash list of volume ${volume.name}` },
    phase: 'download',
  });
  const r = await readBack({
    ...read,
    file: archive,
    into: {
      ...into,
      tool: ['bash', '-c', compareProgram(), 'coopctl', ...compareArgs(o.dest, expected, o.mode)],
      what: `the extract of volume ${volume.name}`,
    },
    phase: 'restore',
    onProgress: o.onProgress,
  });
  return compared(o.manifest.id, volume, r.stdout ?? '', o.host);
}

/** What volume-compare.sh reported, against what the backup holds: a mismatch names the first differing file. */
export function compared(id: string, v: VolumeInfo, output: string, host: RemoteHost): VolumeTested {
  const got = /^extracted (\d+) (\d+) ([0-9a-f]{64})$/m.exec(output);
  if (!got) throw new BackupError('corrupt-dump', `volume ${v.name}: ${host.target.name} reported no extract`);
  const [files, bytes, listSha256] = [Number(got[1]), Number(got[2]), got[3]];
  const differs = /^differs (.+)$/m.exec(output)?.[1];
  if (files === v.files && bytes === v.bytes && listSha256 === v.listSha256 && !differs)
    return { name: v.name, files, bytes, listSha256 };
  throw new BackupError(
    'restore-mismatch',
    `backup ${id}: volume ${v.name} extracted on ${host.target.name} differs from the manifest: ` +
      `${files} files of ${bytes} bytes (expected ${v.files} of ${v.bytes})` +
      (differs ? `; first differing file: ${differs}` : `; hash list ${listSha256}, expected ${v.listSha256}`),
    { details: { volume: v.name, files, bytes, listSha256, expected: v, ...(differs && { differs }) } },
  );
}
