import { SudoRefusedError } from '../remote/become.js';
import { fail, pass, type Check } from '../targets/check.js';

/**
 * For a host reached as an ordinary user with ansible_become: `sudo -n true`
 * as the become user, before anything changes. Every later command of the run
 * goes through the same sudo (src/remote/become.ts).
 */
export const sudoCheck: Check = {
  id: 'sudo',
  needs: ['ssh'],
  appliesTo: (t) => t.remote.target.become !== undefined,
  async run({ target }) {
    const { name, user, become } = target.remote.target;
    try {
      await target.remote.exec(['true'], { mutates: false, timeoutMs: 30_000 });
    } catch (err) {
      if (err instanceof SudoRefusedError) return fail(err.message, err.hints[0]);
      throw err;
    }
    return pass(`${user} on ${name} runs commands as ${become!.user} with sudo, without a password`);
  },
};
