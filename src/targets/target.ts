import type { DbTarget } from '../backup/commands.js';
import type { BackupVolume } from '../backup/volumes.js';
import type { InventoryHost } from '../config/inventory.js';
import type { EnvironmentConfig, ServiceConfig } from '../config/schema.js';
import type { RemoteHost } from '../remote/ssh.js';
import type { Driver } from './driver.js';
import type { ServiceProfile } from './profile.js';

/** Filesystem locations on a host that checks and operations use; inventory vars override. */
export interface HostPaths {
  stateDir: string;
  tmpDir: string;
  /** The service's directory on the host (its compose project, its secrets file). */
  dataDir: string;
  mdstat: string;
  rebootRequired: string;
  /** The on-host backup copies (backup.onHost.dir, or the inventory's coopctl_backup_dir). */
  backupDir: string;
}

/** The service's database on its host, with the tables whose row counts prove a backup or restore. */
export interface ServiceDatabase extends DbTarget {
  tables: string[];
}

/**
 * One service × environment, resolved: where it runs, how it is deployed
 * (driver) and what it is (profile). Everything an operation needs.
 */
export interface Target {
  service: string;
  env: string;
  host: InventoryHost;
  remote: RemoteHost;
  paths: HostPaths;
  serviceConfig: ServiceConfig;
  envConfig: EnvironmentConfig;
  driver: Driver;
  profile: ServiceProfile;
  /** Absent for services coopctl does not dump itself. */
  database?: ServiceDatabase;
  /** The data volumes backed up with the database (`volumes:`): the config's name and Docker's. */
  volumes: BackupVolume[];
}
