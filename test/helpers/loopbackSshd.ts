import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SshPool } from '../../src/remote/ssh.js';
import { freePort } from '../world/net.js';
import { generateKey, prepareSshd, type SshdSpec, startSshd } from '../world/sshd.js';

export interface LoopbackSshd {
  sshd: SshdSpec;
  port: number;
  /** The host key line known_hosts holds for it. */
  hostKey: string;
  identityFile: string;
  knownHosts: string;
  pool: SshPool;
}

/** A real sshd on a loopback port under `root`, whose sessions get `env`; a pool that knows its host key. */
export async function startLoopbackSshd(
  root: string,
  env: Record<string, string>,
  timeouts: { commandTimeoutMs: number; stallTimeoutMs: number },
): Promise<LoopbackSshd> {
  const identityFile = path.join(root, 'id_ed25519');
  const authorizedKeys = path.join(root, 'authorized_keys');
  writeFileSync(authorizedKeys, `${generateKey(identityFile, 'coopctl-test')}\n`);
  const port = await freePort();
  const sshd: SshdSpec = { dir: path.join(root, 'sshd'), address: '127.0.0.1', port, authorizedKeys, env };
  const hostKey = prepareSshd(sshd);
  const knownHosts = path.join(root, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`);
  await startSshd(sshd);
  const pool = new SshPool(
    { knownHostsFile: knownHosts, identityFile, agent: false, connectTimeoutMs: 10_000, ...timeouts },
    false,
  );
  return { sshd, port, hostKey, identityFile, knownHosts, pool };
}
