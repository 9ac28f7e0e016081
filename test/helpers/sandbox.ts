import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sandboxLayout } from '../world/layout.js';
import { passEnv } from '../world/passStore.js';
import { operatorSsh, type SandboxState } from '../world/state.js';
import { coopctl, type CliResult } from './cli.js';

export interface TestSandbox {
  dir: string;
  config: string;
  /** What an operator's shell exports for the sandbox (its pass store: GNUPGHOME, PASSWORD_STORE_DIR). */
  env: Record<string, string>;
  /** coopctl -c <sandbox config> ... */
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
  fault(...args: string[]): Promise<CliResult>;
  down(): Promise<void>;
}

/**
 * A whole sandbox (real sshd hosts, PostgreSQL, Ansible deploy, abra double, s3rver) built through the CLI.
 * Its links are not shaped unless `link` says so (tests need speed, benchmarks and link tests realism).
 */
export async function startSandbox(
  opts: { extraHosts?: number; link?: 'home' | 'lan' | 'none' } = {},
): Promise<TestSandbox> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-sb-'));
  const up = await coopctl(
    [
      'sandbox',
      'up',
      '--dir',
      dir,
      '--link',
      opts.link ?? 'none',
      ...(opts.extraHosts ? ['--extra-hosts', String(opts.extraHosts)] : []),
    ],
    { timeoutMs: 600_000 },
  );
  if (up.code !== 0) {
    await coopctl(['sandbox', 'down', '--dir', dir]);
    throw new Error(`sandbox up failed (${up.code}):\n${up.stdout}\n${up.stderr}`);
  }
  const config = path.join(dir, 'coopctl.yaml');
  const shell = passEnv(sandboxLayout(dir));
  return {
    dir,
    config,
    env: shell,
    run: (args, env) => coopctl(['-c', config, ...args], { env: { ...shell, ...env } }),
    fault: (...args) => coopctl(['sandbox', 'fault', '--dir', dir, ...args]),
    async down() {
      await coopctl(['sandbox', 'down', '--dir', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A command on a sandbox host through its real sshd, as the operator's `ssh` runs it (as `login` when given). */
export function sshToHost(
  dir: string,
  host: string,
  command: string,
  login?: string,
): { code: number; stdout: Buffer; stderr: string } {
  const layout = sandboxLayout(dir);
  const state = JSON.parse(readFileSync(layout.state, 'utf8')) as SandboxState;
  const at = operatorSsh(state.hosts.find((h) => h.name === host)!);
  const r = spawnSync(
    'ssh',
    [
      '-F',
      layout.ssh.config,
      '-o',
      `UserKnownHostsFile=${layout.ssh.knownHosts}`,
      '-o',
      'BatchMode=yes',
      '-p',
      String(at.port),
      login ? `${login}@${at.address}` : at.address,
      command,
    ],
    { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Where abra keeps an app's env file in a sandbox (`$ABRA_DIR/servers/<server>/<domain>.env`). */
export function appEnvFile(dir: string, domain: string): string {
  const servers = path.join(sandboxLayout(dir).abraDir, 'servers');
  return path.join(servers, readdirSync(servers)[0], `${domain}.env`);
}
