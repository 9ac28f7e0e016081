import { describeHolder, HostLock } from '../history/lock.js';
import { fail, pass } from '../targets/check.js';
import type { Check } from '../targets/target.js';

export const lockCheck: Check = {
  id: 'lock',
  needs: ['ssh'],
  standalone: true,
  async run({ target }) {
    const s = await new HostLock(target.remote, target.paths.stateDir, target.service, target.env).status();
    if (!s.held) return pass('not locked');
    if (s.stale) {
      return fail(
        `stale lock: ${describeHolder(s)} — ${s.staleReason}`,
        `if nobody is working on it: coopctl lock release ${target.service} --env ${target.env} --force -m "why"`,
      );
    }
    return fail(`locked by ${describeHolder(s)}`, 'wait for the holder to finish, or talk to them');
  },
};
