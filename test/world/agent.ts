import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isRunning, readPid, stopPidFile } from './processes.js';

/**
 * The operator's key as laptops have it: passphrase-protected on disk, loaded
 * into a real ssh-agent. coopctl and Ansible find the agent through the
 * sandbox's ssh_config (IdentityAgent), as an operator's `ssh` would.
 */
export interface AgentFiles {
  identity: string;
  passphrase: string;
  socket: string;
  pidFile: string;
}

export function createOperatorKey(f: AgentFiles, comment: string): string {
  if (!existsSync(f.identity)) {
    const pass = randomBytes(18).toString('base64url');
    writeFileSync(f.passphrase, `${pass}\n`, { mode: 0o600 });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', pass, '-C', comment, '-f', f.identity]);
  }
  return readFileSync(`${f.identity}.pub`, 'utf8').trim();
}

/** Starts the agent (unless it runs) and adds the key, the passphrase given through SSH_ASKPASS. */
export function startAgent(f: AgentFiles): void {
  const pid = readPid(f.pidFile);
  if (pid !== undefined && isRunning(pid) && existsSync(f.socket)) return;
  rmSync(f.socket, { force: true });
  const out = execFileSync('ssh-agent', ['-s', '-a', f.socket]).toString();
  const started = /SSH_AGENT_PID=(\d+)/.exec(out);
  if (!started) throw new Error(`ssh-agent printed no pid: ${out}`);
  writeFileSync(f.pidFile, `${started[1]}\n`);
  const askpass = path.join(path.dirname(f.pidFile), 'askpass');
  writeFileSync(askpass, `#!/bin/sh\nexec cat '${f.passphrase}'\n`, { mode: 0o700 });
  execFileSync('ssh-add', ['-q', f.identity], {
    env: { ...process.env, SSH_AUTH_SOCK: f.socket, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' },
    stdio: 'pipe',
  });
}

export async function stopAgent(f: AgentFiles): Promise<void> {
  await stopPidFile(f.pidFile);
  rmSync(f.socket, { force: true });
}
