import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readPid, stopPidFile } from './processes.js';
import { readBanner, waitFor } from './net.js';

/**
 * A real OpenSSH server standing in for a host. Runs as whoever we are: as
 * root it logs in root; as an ordinary user it accepts key logins for that
 * user only, which is all the sandbox needs.
 */
export interface SshdSpec {
  /** Where this host's sshd keeps its config, host key, pid file and log. */
  dir: string;
  address: string;
  port: number;
  /** File holding the client public keys allowed in. */
  authorizedKeys: string;
  /** Environment for sessions (PATH with the host's stand-ins first, ...). */
  env: Record<string, string>;
  /** Run inside this network namespace (root only). */
  netns?: string;
  /** Host key types, offered in this order (default ed25519 only); the first one's public line is returned. */
  hostKeys?: Array<'ed25519' | 'ecdsa' | 'rsa'>;
}

export const SSHD_BIN = process.env.COOPCTL_SSHD ?? '/usr/sbin/sshd';

export function generateKey(file: string, comment = 'coopctl-sandbox', type = 'ed25519'): string {
  if (!existsSync(file)) execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', comment, '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

export function sshdFiles(dir: string) {
  return {
    config: path.join(dir, 'sshd_config'),
    hostKey: path.join(dir, 'ssh_host_ed25519_key'),
    pidFile: path.join(dir, 'sshd.pid'),
    log: path.join(dir, 'sshd.log'),
  };
}

/** The host key's public line ("ssh-ed25519 AAAA..."), for known_hosts. */
export function prepareSshd(spec: SshdSpec): string {
  mkdirSync(spec.dir, { recursive: true });
  const f = sshdFiles(spec.dir);
  const types = spec.hostKeys ?? ['ed25519'];
  const keyFiles = types.map((t) => (t === 'ed25519' ? f.hostKey : path.join(spec.dir, `ssh_host_${t}_key`)));
  const pubs = types.map((t, i) => generateKey(keyFiles[i], 'sandbox-host', t).split(' ').slice(0, 2).join(' '));
  const env = Object.entries(spec.env)
    .map(([k, v]) => {
      if (/[\s"]/.test(v)) throw new Error(`sshd SetEnv value for ${k} must not contain spaces or quotes`);
      return `${k}=${v}`;
    })
    .join(' ');
  writeFileSync(
    f.config,
    [
      `Port ${spec.port}`,
      `ListenAddress ${spec.address}`,
      ...keyFiles.map((k) => `HostKey ${k}`),
      `PidFile ${f.pidFile}`,
      `AuthorizedKeysFile ${spec.authorizedKeys}`,
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'MaxStartups 100:30:200',
      'MaxSessions 50',
      'ClientAliveInterval 10',
      'Subsystem sftp internal-sftp',
      env ? `SetEnv ${env}` : '',
      '',
    ].join('\n'),
  );
  return pubs[0];
}

export async function startSshd(spec: SshdSpec): Promise<void> {
  const f = sshdFiles(spec.dir);
  const running = readPid(f.pidFile);
  if (running !== undefined) {
    try {
      process.kill(running, 0);
      return;
    } catch {
      // stale
    }
  }
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const argv = [SSHD_BIN, '-f', f.config, '-E', f.log];
  const [cmd, args] = spec.netns ? ['ip', ['netns', 'exec', spec.netns, ...argv]] : [argv[0], argv.slice(1)];
  execFileSync(cmd, args, { stdio: 'pipe' });
  await waitFor(`sshd ${spec.address}:${spec.port}`, () => readBanner(spec.address, spec.port, 2000), 30_000);
}

export function stopSshd(dir: string): Promise<void> {
  return stopPidFile(sshdFiles(dir).pidFile);
}
