import type { Check, Target } from '../targets/target.js';
import { backupHostCheck } from './backupHost.js';
import { diskCheck } from './disk.js';
import { lockCheck } from './lock.js';
import { matrixCheck } from './matrix.js';
import { raidCheck } from './raid.js';
import { rebootCheck } from './reboot.js';
import { secretsCheck } from './secrets.js';
import { sshCheck } from './ssh.js';

/** The checks every service gets, whatever deploys it. */
const HOST_CHECKS: readonly Check[] = [
  sshCheck,
  lockCheck,
  diskCheck,
  backupHostCheck,
  raidCheck,
  rebootCheck,
  secretsCheck,
  matrixCheck,
];

/** Every preflight check of a target, in the order they are reported: the host's, the driver's, the profile's. */
export function checksFor(t: Target): Check[] {
  return [...HOST_CHECKS, ...t.driver.checks, ...t.profile.checks];
}
