import { InputError } from '../kernel/errors.js';

/** A data volume backed up with the database: its name in the config (and the backup), and Docker's. */
export interface BackupVolume {
  /** As in the recipe's compose file and `volumes:` (`mediawiki-images`); the part's name in the backup. */
  name: string;
  /** The Docker volume on the host (a swarm's `<stack>_<name>`). */
  volume: string;
}

/** Docker's own rule for a volume's name (config/schema.ts volumesSchema): a word, never a path or an option. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function assertVolume(v: BackupVolume): BackupVolume {
  for (const n of [v.name, v.volume])
    if (!VOLUME_NAME.test(n)) throw new InputError(`${JSON.stringify(n)} is not a Docker volume name`);
  return v;
}

/** The stored objects of a volume's part: its archive and its hash list. */
export function volumeFileNames(name: string, encrypted: boolean): { archive: string; list: string } {
  const age = encrypted ? '.age' : '';
  return { archive: `volume-${name}.tar.zst${age}`, list: `volume-${name}.sums.zst${age}` };
}
