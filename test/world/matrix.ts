import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DATA_FILE, type HomeserverData, MATRIX_FAULT_FILES, newAccessToken } from '../doubles/matrix.js';
import type { SandboxLayout } from './layout.js';
import { waitForListener } from './net.js';
import { worldScript } from './paths.js';
import { isRunning, readPid, spawnDetached, stopPidFile } from './processes.js';
import type { SandboxState } from './state.js';

/** The operators' room and the account coopctl posts with, as social.coop's would be (a bot user, invited). */
export const MATRIX_ROOM = { id: '!tech-ops:matrix.sandbox', alias: '#tech-ops:matrix.sandbox' };
const SERVER_NAME = 'matrix.sandbox';
const BOT = '@coopctl:matrix.sandbox';

export const MATRIX_FAULTS = ['matrix-down', 'matrix-slow', 'token-revoked', 'room-encrypted', 'rate-limited'] as const;

/** The homeserver's data (its one room, the bot joined with an operator); returns the bot's access token. */
export function createMatrix(layout: SandboxLayout): string {
  mkdirSync(layout.matrix.dir, { recursive: true });
  const token = newAccessToken('coopctl');
  const data: HomeserverData = {
    serverName: SERVER_NAME,
    users: { [token]: BOT },
    rooms: { [MATRIX_ROOM.id]: { aliases: [MATRIX_ROOM.alias], members: [BOT, '@operator:matrix.sandbox'] } },
  };
  writeFileSync(path.join(layout.matrix.dir, DATA_FILE), `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  return token;
}

export function startMatrix(layout: SandboxLayout, m: NonNullable<SandboxState['matrix']>): Promise<void> {
  const child = spawnDetached(
    [process.execPath, worldScript('doubles/matrixMain.js'), '--dir', layout.matrix.dir, '--port', String(m.port)],
    { log: layout.matrix.log, pidFile: layout.matrix.pidFile },
  );
  return waitForListener('matrix homeserver', { host: '127.0.0.1', port: m.port }, child, layout.matrix.log);
}

export function matrixRunning(layout: SandboxLayout): boolean {
  return isRunning(readPid(layout.matrix.pidFile) ?? -1);
}

export function stopMatrix(layout: SandboxLayout): Promise<void> {
  return stopPidFile(layout.matrix.pidFile);
}

const FLAG: Record<string, string> = {
  'matrix-slow': MATRIX_FAULT_FILES.slow,
  'token-revoked': MATRIX_FAULT_FILES.revoked,
  'room-encrypted': MATRIX_FAULT_FILES.encrypted,
  'rate-limited': MATRIX_FAULT_FILES.rateLimited,
};

/** matrix-down: the homeserver is stopped (connection refused); the others are flags the running server reads. */
export async function setMatrixFault(
  layout: SandboxLayout,
  m: NonNullable<SandboxState['matrix']>,
  kind: (typeof MATRIX_FAULTS)[number],
  on: boolean,
): Promise<void> {
  if (kind === 'matrix-down') {
    if (on) await stopMatrix(layout);
    else if (!matrixRunning(layout)) await startMatrix(layout, m);
    return;
  }
  const flag = path.join(layout.matrix.dir, FLAG[kind]);
  if (on) writeFileSync(flag, '');
  else rmSync(flag, { force: true });
}
