import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadStandinConfig, standinPaths } from '../doubles/mastodon/config.js';

/**
 * A sandbox host reached as production's are: an ordinary login with
 * passwordless sudo (real Debian sudo, a sudoers.d entry), its data, coopctl
 * state and docker "socket" root's alone. One such login per sandbox, named
 * from its tag; it and its sudoers file live outside the sandbox dir, so
 * `sandbox down` removes both (and `up` takes over any left behind).
 */
export interface BecomeLogin {
  user: string;
  home: string;
  sudoers: string;
  /** The copy of authorized_keys this host's sshd reads (as the user: it must be able to). */
  authorizedKeys: string;
}

const SUDOERS_DIR = '/etc/sudoers.d';

/** Why no host can be reached this way here; undefined when one can. */
export function becomeUnsupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'the sandbox runs unprivileged: creating a login and a sudoers entry needs root';
  if (!existsSync('/usr/bin/sudo') || !existsSync('/usr/sbin/visudo'))
    return 'sudo is not installed (apt-get install sudo)';
  if (!existsSync(SUDOERS_DIR)) return `${SUDOERS_DIR} does not exist`;
  return undefined;
}

export function becomeLogin(tag: string, hostRoot: string): BecomeLogin {
  const user = `coopctl-${tag}`;
  return {
    user,
    home: path.join(hostRoot, 'home', user),
    sudoers: path.join(SUDOERS_DIR, `coopctl-sandbox-${tag}`),
    authorizedKeys: path.join(hostRoot, 'etc', 'ssh', 'authorized_keys'),
  };
}

function exists(user: string): boolean {
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What is root's alone on a production host: the data dir, coopctl's state dir, docker's socket. */
export function rootOnlyPaths(hostRoot: string): { dirs: string[]; dockerSocket: string } {
  return {
    dirs: [loadStandinConfig(hostRoot).mastodon.dir, path.join(hostRoot, 'var', 'lib', 'coopctl')],
    dockerSocket: standinPaths(hostRoot).dockerSocket,
  };
}

/** The login, its home, its sudo right (secure_path finds this host's stand-ins first) and root-only files. */
export function createBecomeLogin(b: BecomeLogin, hostRoot: string, authorizedKeys: string): void {
  // '*': no password, yet not locked (sshd refuses locked accounts even for key logins).
  if (exists(b.user)) execFileSync('usermod', ['-d', b.home, '-p', '*', b.user]);
  else
    execFileSync('useradd', [
      '-M',
      '-d',
      b.home,
      '-s',
      '/bin/bash',
      '-c',
      'coopctl sandbox operator',
      '-p',
      '*',
      b.user,
    ]);
  mkdirSync(path.dirname(b.home), { recursive: true, mode: 0o755 });
  mkdirSync(b.home, { recursive: true, mode: 0o700 });
  const uid = Number(execFileSync('id', ['-u', b.user]).toString());
  const gid = Number(execFileSync('id', ['-g', b.user]).toString());
  chownSync(b.home, uid, gid); // Ansible writes ~/.ansible/tmp
  copyFileSync(authorizedKeys, b.authorizedKeys);
  chmodSync(b.authorizedKeys, 0o644);

  const securePath = [path.join(hostRoot, 'bin'), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin'];
  const text = [
    `# coopctl sandbox ${path.dirname(path.dirname(hostRoot))}: the operator login of one host (sandbox down removes it)`,
    // sudo replaces PATH with secure_path: the host's docker and systemctl are its stand-ins, as /usr/bin/docker is.
    `Defaults:${b.user} secure_path="${[...securePath, '/sbin', '/bin'].join(':')}"`,
    `${b.user} ALL=(ALL:ALL) NOPASSWD: ALL`,
    '',
  ].join('\n');
  // sudo skips names with a dot: the file is checked with visudo before it takes effect.
  const tmp = `${b.sudoers}.new`;
  writeFileSync(tmp, text, { mode: 0o440 });
  try {
    execFileSync('visudo', ['-c', '-q', '-f', tmp], { stdio: 'pipe' });
    renameSync(tmp, b.sudoers);
  } finally {
    rmSync(tmp, { force: true });
  }

  const { dirs, dockerSocket } = rootOnlyPaths(hostRoot);
  for (const d of dirs) {
    mkdirSync(d, { recursive: true });
    chownSync(d, 0, 0);
    chmodSync(d, 0o700);
  }
  writeFileSync(dockerSocket, '', { flag: 'a' });
  chownSync(dockerSocket, 0, 0);
  chmodSync(dockerSocket, 0o660);
}

/** sandbox down: the login and its sudo right go (whatever of them is there). */
export function removeBecomeLogin(tag: string): void {
  if (process.getuid?.() !== 0) return;
  const b = becomeLogin(tag, '/');
  rmSync(b.sudoers, { force: true });
  if (exists(b.user)) {
    try {
      execFileSync('userdel', ['-f', b.user], { stdio: 'pipe' });
    } catch {
      // a session still open: `sandbox up` takes the login over next time
    }
  }
}
