import { MatrixClient } from '../notify/matrix.js';
import { configSecret } from './backups.js';
import type { Workspace } from './workspace.js';

/** The client of the room `notify.matrix` names, its token resolved (and so redacted); undefined when unset. */
export async function matrixClientOf(ws: Workspace): Promise<MatrixClient | undefined> {
  const m = ws.config.notify.matrix;
  if (!m) return undefined;
  const token = await configSecret(ws, m.token, ['notify', 'matrix', 'token'], 'value');
  return new MatrixClient({ homeserver: m.homeserver, room: m.room, token, timeoutMs: m.timeout });
}
