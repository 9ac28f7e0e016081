import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import {
  mastodonHostVars,
  prepareMastodonHost,
  sandboxMastodonSecrets,
  stopMastodonHost,
} from '../world/mastodon/host.js';
import { createMastodonUpstream } from '../world/mastodon/upstream.js';
import { freePort } from '../world/net.js';
import { generateKey, prepareSshd, startSshd, stopSshd } from '../world/sshd.js';

/** One sandbox Mastodon host (and optionally an sshd in front of it) in a temp dir, for tests. */
export const REPO = path.resolve(import.meta.dirname, '../..');
export const PLAYBOOK = path.join(REPO, 'playbooks', 'mastodon.yml');

export interface MastodonTestHost {
  dir: string;
  root: string;
  upstream: string;
  web: { address: string; port: number };
  streaming: { address: string; port: number };
  ssh?: { port: number; dir: string; inventory: string; controlDir: string };
  close(): Promise<void>;
}

export function hostEnv(root: string): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${path.join(root, 'bin')}:/usr/local/bin:/usr/bin:/bin`, COOPCTL_SANDBOX_ROOT: root };
}

export async function createMastodonTestHost(opts: { ssh?: boolean; name?: string } = {}): Promise<MastodonTestHost> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
  const name = opts.name ?? 'alpha';
  const root = path.join(dir, 'hosts', name);
  const upstream = await createMastodonUpstream(path.join(dir, 'upstream', 'mastodon.git'));
  const web = { address: '127.0.0.1', port: await freePort() };
  const streaming = { address: '127.0.0.1', port: await freePort() };
  await prepareMastodonHost({ name, root, upstream, web, streaming });
  const host: MastodonTestHost = {
    dir,
    root,
    upstream,
    web,
    streaming,
    async close() {
      if (host.ssh) {
        closeControlMasters(host.ssh.controlDir);
        await stopSshd(host.ssh.dir);
      }
      await stopMastodonHost(root);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (opts.ssh) host.ssh = await startHostSshd(dir, name, root);
  return host;
}

async function startHostSshd(dir: string, name: string, root: string) {
  const port = await freePort();
  const sshDir = path.join(dir, 'ssh');
  mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  const identity = path.join(sshDir, 'id_ed25519');
  const authorizedKeys = path.join(sshDir, 'authorized_keys');
  writeFileSync(authorizedKeys, `${generateKey(identity, 'coopctl-test')}\n`);
  const spec = {
    dir: path.join(root, 'etc', 'ssh'),
    address: '127.0.0.1',
    port,
    authorizedKeys,
    env: { PATH: `${path.join(root, 'bin')}:/usr/local/bin:/usr/bin:/bin`, COOPCTL_SANDBOX_ROOT: root },
  };
  const hostKey = prepareSshd(spec);
  await startSshd(spec);
  const knownHosts = path.join(sshDir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`);
  const inventory = path.join(dir, 'inventory.yml');
  const vars = {
    ansible_host: '127.0.0.1',
    ansible_port: port,
    ansible_user: os.userInfo().username,
    ansible_ssh_private_key_file: identity,
    ansible_ssh_common_args: `-o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`,
    ansible_become: false,
    ansible_python_interpreter: '/usr/bin/python3',
    ...mastodonHostVars(root),
    mastodon_secrets: sandboxMastodonSecrets(),
  };
  writeFileSync(inventory, stringify({ all: { children: { mastodon: { hosts: { [name]: vars } } } } }));
  const controlDir = path.join(dir, 'cp');
  mkdirSync(controlDir, { recursive: true });
  return { port, dir: spec.dir, inventory, controlDir };
}

/** ssh ControlPersist masters outlive ansible-playbook: end them with the test. */
function closeControlMasters(controlDir: string): void {
  if (!existsSync(controlDir)) return;
  for (const socket of readdirSync(controlDir)) {
    spawnSync('ssh', ['-o', `ControlPath=${path.join(controlDir, socket)}`, '-O', 'exit', 'unused'], {
      stdio: 'ignore',
      timeout: 5000,
    });
  }
}

export interface PlaybookRun {
  code: number;
  stdout: string;
  stderr: string;
  events: Array<Record<string, unknown>>;
  /** The play recap's numbers for the host. */
  stats: Record<string, number>;
}

export function runPlaybook(host: MastodonTestHost, version: string, extraArgs: string[] = []): Promise<PlaybookRun> {
  if (!host.ssh) throw new Error('host started without sshd');
  const eventsFile = path.join(host.dir, `events-${Date.now()}-${Math.random().toString(36).slice(2)}.jsonl`);
  const env = {
    ...process.env,
    ANSIBLE_CONFIG: path.join(REPO, 'playbooks', 'ansible.cfg'),
    ANSIBLE_CALLBACKS_ENABLED: 'coopctl_jsonl',
    COOPCTL_EVENTS_FILE: eventsFile,
    ANSIBLE_SSH_CONTROL_PATH_DIR: host.ssh.controlDir,
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_DEPRECATION_WARNINGS: 'False',
    ANSIBLE_SSH_TRANSFER_METHOD: 'piped',
    // as coopctl runs it: the play needs no facts
    ANSIBLE_GATHERING: 'explicit',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ansible-playbook',
      ['-i', host.ssh!.inventory, '-e', `mastodon_version=${version}`, ...extraArgs, PLAYBOOK],
      { env, cwd: host.dir },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => {
      const events = existsSync(eventsFile)
        ? readFileSync(eventsFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [];
      const statsEvent = events.find((e) => e.event === 'stats') as
        | { hosts?: Record<string, Record<string, number>> }
        | undefined;
      const stats = Object.values(statsEvent?.hosts ?? {})[0] ?? {};
      resolve({ code: code ?? -1, stdout, stderr, events, stats });
    });
  });
}

export interface StandinRun {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs R/bin/<name> as a shell on the host would (PATH with R/bin first, COOPCTL_SANDBOX_ROOT set). */
export function runStandin(
  root: string,
  name: 'docker' | 'systemctl',
  args: string[],
  opts: { cwd?: string; input?: Buffer } = {},
): Promise<StandinRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(root, 'bin', name), args, {
      env: hostEnv(root),
      cwd: opts.cwd ?? path.join(root, 'opt', 'social.coop'),
    });
    child.stdin.end(opts.input);
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
  });
}

export function compose(root: string, ...args: string[]): Promise<StandinRun> {
  return runStandin(root, 'docker', ['compose', ...args]);
}

interface HttpAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5000, headers }, (res) => {
      let body = '';
      res.on('data', (b) => (body += b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

/**
 * What the instance's nginx adds to a request for the web process, as production's Rails needs it (403
 * otherwise, test/doubles/mastodon/railsGate.ts): its name, from the host's .env.production, and https.
 */
export function proxyHeaders(root: string): Record<string, string> {
  const env = readFileSync(path.join(root, 'opt', 'social.coop', '.env.production'), 'utf8');
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(env)?.[1].trim();
  const host = value('WEB_DOMAIN') || value('LOCAL_DOMAIN');
  if (!host) throw new Error(`${root}: .env.production names no LOCAL_DOMAIN`);
  return { host, 'x-forwarded-proto': 'https' };
}

/** GET of a path on a host's web process, through what its proxy adds. */
export function webGet(root: string, web: { address: string; port: number }, p: string): Promise<HttpAnswer> {
  return httpGet(`http://${web.address}:${web.port}${p}`, proxyHeaders(root));
}

export async function instanceVersion(host: MastodonTestHost): Promise<string> {
  const r = await webGet(host.root, host.web, '/api/v2/instance');
  return (JSON.parse(r.body) as { version: string }).version;
}

/** Every process whose command line mentions the host's root (its stand-ins, PostgreSQL, sshd). */
export function processesUnder(root: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(root) && !l.includes('ps -eo'))
    .map((l) => l.trim());
}
