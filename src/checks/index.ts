import { abraAppCheck, abraCheck, recipeCheckoutCheck } from '../drivers/abra/checks.js';
import { ansibleVersionCheck, collectionsCheck, playbookSyntaxCheck } from '../drivers/ansible/checks.js';
import { diskCheck } from './disk.js';
import { lockCheck } from './lock.js';
import { raidCheck } from './raid.js';
import { rebootCheck } from './reboot.js';
import { sshCheck } from './ssh.js';
import { targetVersionCheck } from '../services/mastodon/targetVersionCheck.js';
import type { Check } from './types.js';

/** Every preflight check, in the order they are reported. */
export const PREFLIGHT_CHECKS: readonly Check[] = [
  sshCheck,
  lockCheck,
  diskCheck,
  raidCheck,
  rebootCheck,
  ansibleVersionCheck,
  collectionsCheck,
  playbookSyntaxCheck,
  targetVersionCheck,
  abraCheck,
  recipeCheckoutCheck,
  abraAppCheck,
];
