import type { ConfiguredRun } from '../backup/configured.js';
import type { Config, ServiceConfig } from '../config/schema.js';
import type { SshFiles } from '../remote/ssh.js';

/**
 * What drivers, service profiles, checks and doctor probes use of a run of coopctl: the loaded config and the
 * process runner, values made once per run, and the few answers the config gives. The Workspace (src/workspace/)
 * is one; a test may build its own.
 */
export interface RunContext extends ConfiguredRun {
  readonly config: Config;
  /** What Ansible's ssh is given too, so both check host keys against the same files. */
  readonly sshFiles: SshFiles;
  /** A version-source URL from the config: remote URLs as they are, local paths relative to the config file. */
  gitUrl(url: string): string;
  /** The config of service `name`; an unknown name is bad input. */
  service(name: string): ServiceConfig;
}
