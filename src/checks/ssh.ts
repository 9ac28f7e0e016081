import { HostKeyError } from '../kernel/errors.js';
import { hostToken } from '../remote/knownHosts.js';
import { fail, pass, type Check } from '../targets/check.js';

export const sshCheck: Check = {
  id: 'ssh',
  async run({ target }) {
    const t = target.remote.target;
    try {
      await target.remote.exec(['true'], { mutates: false, timeoutMs: 30_000, asLoginUser: true });
    } catch (err) {
      if (err instanceof HostKeyError) return fail(err.message, err.hints.join(' '));
      return fail(
        (err as Error).message,
        `check that ${t.name} is up and that ${hostToken(t.address, t.port)} is reachable from here`,
      );
    }
    return pass(`${t.user}@${hostToken(t.address, t.port)} reachable, host key verified`);
  },
};
