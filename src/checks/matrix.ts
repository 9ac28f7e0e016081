import { CoopctlError, errorMessage } from '../kernel/errors.js';
import { describeSecretRef } from '../kernel/secrets.js';
import { configSecret } from '../backup/configured.js';
import { MatrixClient, MatrixError, MatrixUnreachableError } from '../notify/matrix.js';
import { pass, warn } from '../targets/check.js';
import type { RunContext } from '../targets/runContext.js';
import type { Check } from '../targets/target.js';

/** The client of the room `notify.matrix` names, its token resolved (and so redacted); undefined when unset. */
export async function matrixClientOf(run: RunContext): Promise<MatrixClient | undefined> {
  const m = run.config.notify.matrix;
  if (!m) return undefined;
  const token = await configSecret(run, m.token, ['notify', 'matrix', 'token'], 'value');
  return new MatrixClient({ homeserver: m.homeserver, room: m.room, token, timeoutMs: m.timeout });
}

/**
 * The room coopctl posts its notices in (`notify.matrix`): the token works, its user is joined, the room is not
 * encrypted. Only ever a warning: the room is for the operators' information, and a change never waits for it.
 */
export const matrixCheck: Check = {
  id: 'matrix',
  appliesTo: (_t, ctx) => !!ctx?.context.config.notify.matrix,
  async run({ context: ws }) {
    const m = ws.config.notify.matrix!;
    const ref = describeSecretRef(m.token);
    const noNotices = 'the change runs without its notices in the room';
    let client;
    try {
      client = (await matrixClientOf(ws))!;
    } catch (err) {
      return warn(`${errorMessage(err)}; ${noNotices}`, err instanceof CoopctlError ? err.hints[0] : undefined);
    }
    try {
      let user: string;
      try {
        user = await client.whoami();
      } catch (err) {
        if (err instanceof MatrixError && err.status === 401) {
          return warn(
            `${m.homeserver} does not accept the token of notify.matrix.token (${ref}): ${errorMessage(err)}; ` +
              noNotices,
            `log the notices' account in again (or make it a new access token) and store the token in ${ref}`,
          );
        }
        throw err;
      }
      const roomId = await client.roomId();
      let joined: string[];
      try {
        joined = await client.joinedMembers(roomId);
      } catch (err) {
        if (err instanceof MatrixError && err.status === 403) joined = [];
        else throw err;
      }
      const where = m.room === roomId ? m.room : `${m.room} (${roomId})`;
      if (!joined.includes(user)) {
        return warn(
          `${user} is not joined to ${where}: it cannot post there; ${noNotices}`,
          `invite ${user} to ${m.room} and join it with that account`,
        );
      }
      const algorithm = await client.encryption(roomId);
      if (algorithm) {
        return warn(
          `${where} is end-to-end encrypted (${algorithm}): coopctl has no Megolm session keys and posts plain ` +
            'events, which go into the room unencrypted, against its setting (clients flag them as not encrypted, ' +
            'and a bridge or client that expects encrypted events may not show them)',
          `post in an unencrypted room of the operators (encryption cannot be turned off in a room): ` +
            'make one and set notify.matrix.room to it',
        );
      }
      return pass(`${user} is joined to ${where}, not encrypted: notices are posted at the start and end of a change`);
    } catch (err) {
      const what = err instanceof MatrixUnreachableError ? 'does not answer' : 'answered an error';
      return warn(
        `${m.homeserver} ${what}: ${errorMessage(err)}; ${noNotices}`,
        'check notify.matrix.homeserver (the client-server URL) and notify.matrix.room',
      );
    }
  },
};
