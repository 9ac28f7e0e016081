/** A data volume backed up with the database: its name in the config (and the backup), and Docker's. */
export interface BackupVolume {
  /** As in the recipe's compose file and `volumes:` (`mediawiki-images`); the part's name in the backup. */
  name: string;
  /** The Docker volume on the host (a swarm's `<stack>_<name>`). */
  volume: string;
}
