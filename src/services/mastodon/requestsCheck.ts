import { fail, pass, warn } from '../../targets/check.js';
import { healthOf } from './config.js';
import { answeredOk, describeAnswer, localEndpoints, localGet } from './local.js';
import { requestPathsOf } from './verify.js';
import type { Check } from '../../targets/target.js';

/**
 * The API requests verification will count, asked now on the running version: a path this instance closes to
 * visitors (timeline preview off, peers hidden) would fail every verification and undo a good change.
 */
export const verificationRequestsCheck: Check = {
  id: 'verification-requests',
  needs: ['ssh'],
  appliesTo: (t) => (t.envConfig.health?.requests ?? 0) > 0,
  async run({ target }) {
    const h = healthOf(target);
    const paths = [...new Set(requestPathsOf(h))];
    const { web } = localEndpoints(target);
    const answers = await localGet(
      target,
      paths.map((p) => `${web}${p}`),
      h.requestTimeout,
    );
    const closed = paths.flatMap((p, i) => {
      const r = answers[i];
      return r.status > 0 && r.status < 500 && !answeredOk(r) ? [`${p}: ${describeAnswer(r)}`] : [];
    });
    const down = paths.flatMap((p, i) => (answers[i].status === 0 || answers[i].status >= 500 ? [p] : []));
    const where = `services.${target.service}.environments.${target.env}.health.requestPaths`;
    if (closed.length) {
      return fail(
        `verification would count these as failures: ${closed.join('; ')}`,
        `list in ${where} only paths this instance answers without a login (or open them to visitors)`,
      );
    }
    if (down.length) return warn(`the running version did not answer ${down.join(', ')}: cannot tell yet`);
    return pass(`${paths.length} paths answer 2xx on the running version`);
  },
};
