import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { layeredSshConfig } from './sshConfig.js';

/** How coopctl would reach a host: the name `ssh -G` resolved, the overrides, coopctl.yaml's ssh files. */
interface CertificateProbe {
  host: string;
  port?: number;
  user?: string;
  files: { configFile?: string; knownHostsFile?: string; globalKnownHostsFile?: string };
  timeoutMs: number;
}

export type CertificateVerdict =
  | {
      ok: true;
      /** Of the plain key inside the certificate, as ssh2 will be offered it. */
      fingerprint: string;
      /** That key's type ("ssh-ed25519"): the algorithm to ask the host for. */
      keyType: string;
    }
  | { ok: false; why: string };

/**
 * ssh2 cannot negotiate certificate host keys, so OpenSSH judges a host
 * known only through a `@cert-authority` line: signature, principals and
 * validity, as the operator's own `ssh` would. No authentication is tried.
 */
export function probeArgs(p: CertificateProbe, configFile = p.files.configFile): string[] {
  return [
    '-v',
    ...(configFile ? ['-F', configFile] : []),
    ...(p.port ? ['-p', String(p.port)] : []),
    ...(p.user ? ['-l', p.user] : []),
    '-o',
    'BatchMode=yes',
    '-o',
    'PreferredAuthentications=none',
    '-o',
    'StrictHostKeyChecking=yes',
    // An operator's ControlMaster connection would be reused: no key exchange, nothing judged.
    '-o',
    'ControlMaster=no',
    '-o',
    'ControlPath=none',
    '-o',
    `ConnectTimeout=${Math.max(1, Math.round(p.timeoutMs / 1000))}`,
    '--',
    p.host,
    'true',
  ];
}

/** The key OpenSSH accepted through its certificate (the fingerprint of the plain key), or why it did not. */
export function readProbe(output: string): CertificateVerdict {
  const cert =
    /Server host certificate: (\S+)-cert-v01@openssh\.com (SHA256:[A-Za-z0-9+/]+),.* CA (\S+ SHA256:\S+)/.exec(output);
  if (cert && /is known and matches the \S+ host certificate/.test(output)) {
    return { ok: true, fingerprint: cert[2], keyType: cert[1] };
  }
  const last = output
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('debug') && !l.startsWith('OpenSSH_'))
    .pop()
    ?.trim();
  if (!cert) return { ok: false, why: `OpenSSH got no certificate from it${last ? `: ${last}` : ''}` };
  if (/No matching CA found/.test(output))
    return { ok: false, why: `its certificate is signed by ${cert[3]}, no CA of ours` };
  return { ok: false, why: `OpenSSH refused its certificate${last ? `: ${last}` : ''}` };
}

export async function probeCertificate(p: CertificateProbe): Promise<CertificateVerdict> {
  const layered = layeredSshConfig(p.files);
  const dir = layered ? mkdtempSync(path.join(tmpdir(), 'coopctl-ssh-')) : undefined;
  const configFile = dir ? path.join(dir, 'ssh_config') : undefined;
  if (configFile) writeFileSync(configFile, layered!, { mode: 0o600 });
  try {
    return await new Promise((resolve) => {
      execFile('ssh', probeArgs(p, configFile), { timeout: p.timeoutMs + 2_000 }, (err, _stdout, stderr) => {
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
          resolve({ ok: false, why: 'checking a host certificate needs the OpenSSH client (ssh), not found' });
        } else resolve(readProbe(String(stderr)));
      });
    });
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
