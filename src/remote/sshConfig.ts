import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../kernel/errors.js';

/** What OpenSSH's client would use to reach a host, as `ssh -G HOST` prints it. */
export interface SshEffective {
  hostname: string;
  port: number;
  user: string;
  identityFiles: string[];
  /** Hops as written ("user@host:port"), each resolved again with `ssh -G`; empty when none. */
  proxyJump: string[];
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  hostKeyAlias?: string;
  /** IdentityAgent: a socket path, or "none"; unset means $SSH_AUTH_SOCK. */
  identityAgent?: string;
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(homedir(), p.slice(1)) : p;
}

/** Parses `ssh -G` output: lowercase keywords, one per line; repeated keywords (identityfile) accumulate. */
export function parseSshG(text: string): SshEffective {
  const values = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const list = values.get(m[1]) ?? [];
    list.push(m[2]);
    values.set(m[1], list);
  }
  const one = (k: string) => values.get(k)?.[0];
  const files = (k: string) => (one(k) ?? '').split(/\s+/).filter(Boolean).map(expandHome);
  const jump = one('proxyjump');
  const alias = one('hostkeyalias');
  const agent = one('identityagent');
  return {
    hostname: one('hostname') ?? '',
    port: Number(one('port') ?? 22),
    user: one('user') ?? '',
    identityFiles: (values.get('identityfile') ?? []).map(expandHome),
    proxyJump: jump && jump !== 'none' ? jump.split(',') : [],
    userKnownHostsFiles: files('userknownhostsfile'),
    globalKnownHostsFiles: files('globalknownhostsfile'),
    hostKeyAlias: alias && alias !== 'none' ? alias : undefined,
    identityAgent: agent && agent !== 'SSH_AUTH_SOCK' ? expandHome(agent) : undefined,
  };
}

/** "user@host:port" (a ProxyJump hop) → its parts; IPv6 in brackets. */
export function parseHop(hop: string): { user?: string; host: string; port?: number } {
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hop);
  if (!m) throw new ConfigError(`ProxyJump hop "${hop}" is not [user@]host[:port]`);
  return { user: m[1], host: m[2].replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : undefined };
}

/** No `ssh` client on this machine: OpenSSH's defaults stand in for `ssh -G`. */
export class SshClientMissing extends Error {}

export function fallbackEffective(host: string): SshEffective {
  const home = (f: string) => path.join(homedir(), '.ssh', f);
  return {
    hostname: host,
    port: 22,
    user: '',
    identityFiles: ['id_rsa', 'id_ecdsa', 'id_ed25519'].map(home),
    proxyJump: [],
    userKnownHostsFiles: [home('known_hosts'), home('known_hosts2')],
    globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
  };
}

/**
 * Runs `ssh -G` as Ansible's ssh would run: the inventory's port and user are
 * passed on the command line, so they win over the ssh_config, as in Ansible.
 */
export function resolveSshConfig(
  host: string,
  opts: { configFile?: string; port?: number; user?: string },
): Promise<SshEffective> {
  if (host.startsWith('-')) throw new ConfigError(`host "${host}" must not start with "-"`);
  const args = [
    ...(opts.configFile ? ['-F', opts.configFile] : []),
    ...(opts.port ? ['-p', String(opts.port)] : []),
    ...(opts.user ? ['-l', opts.user] : []),
    '-G',
    host,
  ];
  return new Promise((resolve, reject) => {
    execFile('ssh', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') reject(new SshClientMissing('ssh not found'));
      else if (err) {
        const why = String(stderr).trim().split('\n').slice(-2).join(' ') || (err as Error).message;
        reject(new ConfigError(`ssh -G ${host}: ${why}`));
      } else resolve(parseSshG(String(stdout)));
    });
  });
}

/**
 * An ssh_config that names coopctl's known-hosts files first (and, with `strict`, `StrictHostKeyChecking yes`) and
 * then includes the operator's own configuration: the first value obtained for a keyword is the one used
 * (ssh_config(5), DESCRIPTION). OpenSSH hands a ProxyJump's ssh `-F FILE` but not `-o` options: this way jump hosts
 * are checked against the same files, as strictly. Undefined when there is nothing to add to the operator's.
 */
export function layeredSshConfig(
  files: { configFile?: string; knownHostsFile?: string; globalKnownHostsFile?: string },
  opts: { strict?: boolean } = {},
): string | undefined {
  if (!opts.strict && !files.knownHostsFile && !files.globalKnownHostsFile) return undefined;
  const quote = (f: string) => (/\s/.test(f) ? `"${f}"` : f);
  const theirs = files.configFile
    ? [path.resolve(files.configFile)]
    : [path.join(homedir(), '.ssh', 'config'), '/etc/ssh/ssh_config'];
  return [
    '# Written by coopctl for one run: the known-hosts files of coopctl.yaml, then the ssh_config in force.',
    ...(opts.strict ? ['StrictHostKeyChecking yes'] : []),
    ...(files.knownHostsFile ? [`UserKnownHostsFile ${quote(path.resolve(files.knownHostsFile))}`] : []),
    ...(files.globalKnownHostsFile ? [`GlobalKnownHostsFile ${quote(path.resolve(files.globalKnownHostsFile))}`] : []),
    ...theirs.map((f) => `Include ${quote(f)}`),
    '',
  ].join('\n');
}
