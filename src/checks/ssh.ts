import { HostKeyError } from '../kernel/errors.js';
import { SudoRefusedError } from '../remote/become.js';
import { hostToken } from '../remote/knownHosts.js';
import { fail, pass } from '../targets/check.js';
import type { Check } from '../targets/target.js';

/**
 * The host answers, with the rights every later command needs: on a host with ansible_become, `true` goes
 * through the same `sudo -n` as they do (src/remote/become.ts), so a missing sudo right fails here, before
 * anything changes, and every check that needs ssh is not run.
 */
export const sshCheck: Check = {
  id: 'ssh',
  async run({ target }) {
    const t = target.remote.target;
    try {
      await target.remote.exec(['true'], { mutates: false, timeoutMs: 30_000 });
    } catch (err) {
      if (err instanceof HostKeyError) return fail(err.message, err.hints.join(' '));
      if (err instanceof SudoRefusedError) return fail(err.message, err.hints[0]);
      return fail(
        (err as Error).message,
        `check that ${t.name} is up and that ${hostToken(t.address, t.port)} is reachable from here`,
      );
    }
    const sudo = t.become ? `; sudo -n to ${t.become.user} works` : '';
    return pass(`${t.user}@${hostToken(t.address, t.port)} reachable, host key verified${sudo}`);
  },
};
