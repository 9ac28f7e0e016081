import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { parse, stringify } from 'yaml';
import { copySandbox } from '../world/copy.js';
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
 * The default sandbox is built once per test run (the template) and copied (test/world/copy.ts): the playbook's
 * first deploy and initdb are the same for every file; `fresh` builds one of its own.
 */
export async function startSandbox(
  opts: { extraHosts?: number; link?: 'home' | 'lan' | 'none'; fresh?: boolean } = {},
): Promise<TestSandbox> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-sb-'));
  const fromTemplate = !opts.fresh && !opts.extraHosts && (opts.link ?? 'none') === 'none';
  if (fromTemplate) await copySandbox(await sandboxTemplate(), dir);
  const up = await coopctl(
    [
      'sandbox',
      'up',
      '--dir',
      dir,
      ...(fromTemplate ? [] : ['--link', opts.link ?? 'none']),
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

/**
 * The default sandbox of this test run, built and stopped by the first file that needs it (the others wait):
 * under the directory test/helpers/globalSetup.ts made for the run, which also removes it.
 */
async function sandboxTemplate(): Promise<string> {
  const base = inject('sandboxTemplateDir');
  const dir = path.join(base, 'sandbox');
  const [ready, failed] = [path.join(base, 'ready'), path.join(base, 'failed')];
  let building = true;
  try {
    mkdirSync(path.join(base, 'building'));
  } catch {
    building = false;
  }
  if (building) {
    const up = await coopctl(['sandbox', 'up', '--dir', dir, '--link', 'none'], { timeoutMs: 600_000 });
    const down = await coopctl(['sandbox', 'down', '--dir', dir]);
    if (up.code !== 0 || down.code !== 0) {
      const why = `building the template sandbox failed (up ${up.code}, down ${down.code}):\n${up.stderr}${down.stderr}`;
      writeFileSync(failed, why);
      throw new Error(why);
    }
    writeFileSync(ready, '');
    return dir;
  }
  for (const deadline = Date.now() + 600_000; Date.now() < deadline; ) {
    if (existsSync(ready)) return dir;
    if (existsSync(failed)) throw new Error(readFileSync(failed, 'utf8'));
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the template sandbox under ${base} was not built within 10 minutes`);
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

export type ConfigDoc = { services: Record<string, Record<string, unknown>>; checks?: Record<string, unknown> };

/** The sandbox's config with `edit` applied, as another file next to it. */
export function configVariant(dir: string, name: string, edit: (doc: ConfigDoc) => void): string {
  const doc = parse(readFileSync(path.join(dir, 'coopctl.yaml'), 'utf8')) as ConfigDoc;
  edit(doc);
  const variant = path.join(dir, name);
  writeFileSync(variant, stringify(doc));
  return variant;
}

/** Where abra keeps an app's env file in a sandbox (`$ABRA_DIR/servers/<server>/<domain>.env`). */
export function appEnvFile(dir: string, domain: string): string {
  const servers = path.join(sandboxLayout(dir).abraDir, 'servers');
  return path.join(servers, readdirSync(servers)[0], `${domain}.env`);
}

/** Waits until no `app` task the swarm replaced still runs (a failed version's task migrating on boot). */
export async function replacedTasksGone(dir: string, stack: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const r = sshToHost(dir, 'hypha', `docker service ps --format '{{json .}}' ${stack}_app`);
    if (r.code !== 0) throw new Error(`docker service ps on hypha: ${r.stderr}`);
    const tasks = r.stdout
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, string>);
    if (!tasks.some((t) => t.DesiredState === 'Shutdown' && t.CurrentState.startsWith('Running'))) return;
    if (Date.now() > deadline) throw new Error(`${stack}_app: a replaced task still runs:\n${r.stdout}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}
