import net from 'node:net';
import { fatal } from './fatal.js';
import type { DoubleServer } from './home.js';

const BANNER_TIMEOUT_MS = 3_000;

/** Waits for the server's sshd to greet (`SSH-...`), as abra's SSH connection would; no banner = unreachable. */
export function waitForSshBanner(host: string, port: number, timeoutMs = BANNER_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let seen = '';
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`no SSH banner within ${timeoutMs / 1000}s`)), timeoutMs);
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if (seen.startsWith('SSH-')) done();
      else if (seen.length >= 4) done(new Error(`not an SSH server (it said ${JSON.stringify(seen.slice(0, 20))})`));
    });
    socket.on('error', (err) => done(err));
    socket.on('end', () => done(new Error('connection closed before the SSH banner')));
  });
}

export async function connectServer(server: string, cfg: DoubleServer): Promise<void> {
  try {
    await waitForSshBanner(cfg.ssh.host, cfg.ssh.port);
  } catch (err) {
    fatal(`${server}: unable to connect to ${cfg.ssh.host}:${cfg.ssh.port} over SSH: ${(err as Error).message}`);
  }
}
