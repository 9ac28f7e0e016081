import path from 'node:path/posix';
import { InputError, ToolOutputError } from '../kernel/errors.js';
import type { RemoteHost } from '../remote/ssh.js';
import { lastLines } from './hostOutput.js';
import { BackupError } from './errors.js';
import { hostProgram, hostScript } from './hostProgram.js';

/** A data volume backed up with the database: its name in the config (and the backup), and Docker's. */
export interface BackupVolume {
  /** As in the recipe's compose file and `volumes:` (`mediawiki-images`); the part's name in the backup. */
  name: string;
  /** The Docker volume on the host (a swarm's `<stack>_<name>`). */
  volume: string;
}

/** Docker's own rule for a volume's name (config/schema.ts volumesSchema): a word, never a path or an option. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function assertVolume(v: BackupVolume): BackupVolume {
  for (const n of [v.name, v.volume])
    if (!VOLUME_NAME.test(n)) throw new InputError(`${JSON.stringify(n)} is not a Docker volume name`);
  return v;
}

/** The stored objects of a volume's part: its archive and its hash list. */
export function volumeFileNames(name: string, encrypted: boolean): { archive: string; list: string } {
  const age = encrypted ? '.age' : '';
  return { archive: `volume-${name}.tar.zst${age}`, list: `volume-${name}.sums.zst${age}` };
}

/** Where Docker keeps the volume's files on the host (its Mountpoint, root's): `docker volume inspect`. */
export async function volumeMountpoint(host: RemoteHost, v: BackupVolume): Promise<string> {
  const out = await readVolumes(host, 'mountpoint', [v]);
  const mp = /^mountpoint (.+)$/m.exec(out)?.[1];
  if (!mp || !path.isAbsolute(mp))
    throw new ToolOutputError(`${host.target.name}: docker volume inspect ${v.volume} said ${JSON.stringify(out)}`);
  return mp;
}

/** A volume's files on the host, as `du -sb` of its Mountpoint counts them. */
export interface VolumeSize {
  volume: BackupVolume;
  mountpoint: string;
  bytes: number;
}

/** How many bytes each volume holds on the host, read in one read-only command (host/volume-swap.sh sizes). */
export async function volumeSizes(host: RemoteHost, volumes: readonly BackupVolume[]): Promise<VolumeSize[]> {
  if (!volumes.length) return [];
  const out = await readVolumes(host, 'sizes', volumes);
  const sizes = new Map(
    [...out.matchAll(/^size (\d+) (\S+) (\/.*)$/gm)].map((m) => [m[2], { bytes: Number(m[1]), mountpoint: m[3] }]),
  );
  return volumes.map((v) => {
    const s = sizes.get(v.volume);
    if (!s) throw new ToolOutputError(`${host.target.name}: du -sb of volume ${v.volume} said ${JSON.stringify(out)}`);
    return { volume: v, ...s };
  });
}

/** volume-swap.sh's `op` over `volumes`, read-only (as root where the inventory says become): its output. */
async function readVolumes(host: RemoteHost, op: 'mountpoint' | 'sizes', volumes: readonly BackupVolume[]) {
  const names = volumes.map((v) => assertVolume(v).volume);
  const r = await host.exec(hostScript(hostProgram('volume-swap'), [op, ...names]), {
    mutates: false,
    reject: false,
  });
  if (r.exitCode !== 0) {
    const which = volumes.map((v) => `${v.volume} (${v.name})`).join(', ');
    throw new BackupError(
      'dump-failed',
      `${host.target.name}: volume ${which}: ${lastLines(r.stderr) || `exit ${r.exitCode}`}`,
      { hints: [`the volume's name on ${host.target.name}: docker volume ls (volumes: names the recipe's volume)`] },
    );
  }
  return r.stdout;
}
