import path from 'node:path/posix';
import type { RemoteHost } from '../remote/ssh.js';
import { assertLevel } from './commands.js';
import { hostCopyDir, type HostCopy } from './hostCopy.js';
import { hostProgram, hostScript } from './hostProgram.js';
import { required, runReporting, scriptFailure } from './hostRun.js';
import { volumeMountpoint, type BackupVolume } from './volumes.js';

/** A volume's archive and hash list in the on-host copy, as the host measured them. */
export interface VolumeCopy {
  volume: BackupVolume;
  /** `<copy dir>/volume-NAME.tar.zst`: zstd(tar of the volume's files). */
  archive: string;
  size: number;
  sha256: string;
  /** `<copy dir>/volume-NAME.sums.zst`: zstd of the hash list (volume-list.sh). */
  list: string;
  files: number;
  bytes: number;
  /** Of the hash list's text. */
  listSha256: string;
  /** tar said files changed while it read them: they are in the archive (and its list) as read. */
  changedWhileArchived: boolean;
}

export function volumeArchive(c: HostCopy, name: string): string {
  return path.join(hostCopyDir(c), `volume-${name}.tar.zst`);
}

/**
 * The volume's files (its Mountpoint, read as root where the inventory says become) archived into the on-host copy
 * beside the database's, the archive read back there into its hash list (host/volume-copy.sh).
 */
export async function writeVolumeCopy(
  host: RemoteHost,
  c: HostCopy,
  v: BackupVolume,
  o: { level: number; onBytes?: (bytes: number) => void; signal?: AbortSignal },
): Promise<VolumeCopy> {
  const mountpoint = await volumeMountpoint(host, v);
  const cmd = hostScript(hostProgram('volume-list', 'volume-copy'), [
    c.base,
    hostCopyDir(c),
    v.name,
    mountpoint,
    String(assertLevel(o.level)),
  ]);
  const r = await runReporting(host, cmd, { onBytes: o.onBytes, signal: o.signal });
  const what = `the archive of volume ${v.volume}`;
  if (r.code !== 0) throw scriptFailure(host, what, r, r.code === 11 ? 'corrupt-dump' : 'dump-failed');
  const m = required(
    /^volume ([0-9a-f]{64}) (\d+) (\d+) (\d+) ([0-9a-f]{64})$/m.exec(r.stdout) ?? undefined,
    host,
    what,
    r,
  );
  const archive = volumeArchive(c, v.name);
  return {
    volume: v,
    archive,
    sha256: m[1],
    size: Number(m[2]),
    list: archive.replace(/\.tar\.zst$/, '.sums.zst'),
    files: Number(m[3]),
    bytes: Number(m[4]),
    listSha256: m[5],
    changedWhileArchived: /^warning: files of .* changed while they were archived/m.test(r.stdout),
  };
}
