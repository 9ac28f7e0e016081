import { pass, warn } from '../targets/check.js';
import type { Check } from '../targets/target.js';

export const rebootCheck: Check = {
  id: 'reboot',
  needs: ['ssh'],
  async run({ target }) {
    const f = target.paths.rebootRequired;
    const r = await target.remote.exec(['cat', f], { mutates: false, reject: false });
    if (r.exitCode !== 0) return pass('no reboot pending');
    return warn(
      `a reboot is pending (${f} exists${r.stdout.trim() ? `: ${r.stdout.trim().split('\n')[0]}` : ''})`,
      'reboot in a quiet moment first, and check that every service (and the monitoring agent) comes back',
    );
  },
};
