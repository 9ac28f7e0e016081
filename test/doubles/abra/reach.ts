import { readBanner } from '../../world/net.js';
import { fatal } from './fatal.js';
import type { DoubleServer } from './home.js';

const BANNER_TIMEOUT_MS = 3_000;

// source: RFC 4253 §4.2 (https://www.rfc-editor.org/rfc/rfc4253#section-4.2): an SSH server first sends its
// identification string `SSH-protoversion-softwareversion`; abra reaches its servers over SSH (reference/abra.md)
/** Waits for the server's sshd to greet (`SSH-...`), as abra's SSH connection would; no banner = unreachable. */
export async function waitForSshBanner(host: string, port: number, timeoutMs = BANNER_TIMEOUT_MS): Promise<void> {
  const line = await readBanner(host, port, timeoutMs);
  if (!line.startsWith('SSH-')) throw new Error(`not an SSH server (it said ${JSON.stringify(line.slice(0, 20))})`);
}

export async function connectServer(server: string, cfg: DoubleServer): Promise<void> {
  try {
    await waitForSshBanner(cfg.ssh.host, cfg.ssh.port);
  } catch (err) {
    fatal(`${server}: unable to connect to ${cfg.ssh.host}:${cfg.ssh.port} over SSH: ${(err as Error).message}`);
  }
}
