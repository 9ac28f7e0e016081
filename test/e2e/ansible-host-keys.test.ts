import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runPlaybook, type PlaybookResult } from '../../src/drivers/ansible/playbook.js';
import { ExecaRunner } from '../../src/kernel/process.js';
import { createMastodonTestHost, PLAYBOOK, type MastodonTestHost } from '../helpers/mastodonHost.js';
import { generateKey, sshdFiles } from '../world/sshd.js';

/**
 * Ansible's own ssh, the connection that carries .env.production, checks the host's key strictly against the
 * known_hosts coopctl checks, whatever the operator's ssh_config says: `StrictHostKeyChecking no` lets OpenSSH go
 * on past a changed key with key authentication, `accept-new` with `UserKnownHostsFile /dev/null` takes any key.
 * Real ansible-playbook (coopctl's runPlaybook) against a real sshd; the inventory pins nothing itself.
 */
let host: MastodonTestHost;
let inventory: string;
let knownHosts: string;
let impostor: string;
let runs = 0;
const savedControlDir = process.env.ANSIBLE_SSH_CONTROL_PATH_DIR;

/**
 * Each run its own ControlPath dir, its master ended after it: a later run would otherwise go through the master
 * connection an earlier one verified, with no host-key check of its own (OpenSSH multiplexing).
 */
function withOwnControlMaster<T>(dir: string, run: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true });
  process.env.ANSIBLE_SSH_CONTROL_PATH_DIR = dir;
  return run().finally(() => {
    for (const socket of readdirSync(dir))
      spawnSync('ssh', ['-o', `ControlPath=${path.join(dir, socket)}`, '-O', 'exit', 'unused'], { stdio: 'ignore' });
  });
}

beforeAll(async () => {
  host = await createMastodonTestHost({ ssh: true });
  const doc = parse(readFileSync(host.ssh!.inventory, 'utf8'));
  const vars = doc.all.children.mastodon.hosts.alpha as Record<string, unknown>;
  // as an operator's inventory: no host-key options of its own
  vars.ansible_ssh_common_args = '-o IdentitiesOnly=yes';
  inventory = path.join(host.dir, 'operator-inventory.yml');
  writeFileSync(inventory, stringify(doc));
  knownHosts = path.join(host.dir, 'ssh', 'known_hosts');
  // the same host name and port with another key: the host key "changed"
  const other = generateKey(path.join(host.dir, 'impostor_key'), 'impostor').split(' ').slice(0, 2).join(' ');
  impostor = path.join(host.dir, 'impostor_known_hosts');
  writeFileSync(impostor, `[127.0.0.1]:${host.ssh!.port} ${other}\n`);
});

afterAll(async () => {
  if (savedControlDir === undefined) delete process.env.ANSIBLE_SSH_CONTROL_PATH_DIR;
  else process.env.ANSIBLE_SSH_CONTROL_PATH_DIR = savedControlDir;
  await host?.close();
});

const acceptedLogins = () =>
  readFileSync(sshdFiles(host.ssh!.dir).log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('Accepted publickey')).length;

/** A --check run of the production playbook with the operator's ssh_config `lines`. */
async function run(lines: string[], knownHostsFile?: string): Promise<PlaybookResult & { log: string }> {
  const n = ++runs;
  const configFile = path.join(host.dir, `operator_ssh_config_${n}`);
  writeFileSync(configFile, ['Host *', ...lines.map((l) => `  ${l}`), ''].join('\n'));
  const r = await withOwnControlMaster(path.join(host.dir, `cp-${n}`), () =>
    runPlaybook(new ExecaRunner(false), {
      playbook: PLAYBOOK,
      inventory,
      limit: ['alpha'],
      extraVars: { mastodon_version: '4.4.7' },
      check: true,
      logFile: path.join(host.dir, 'logs', `run-${n}.log`),
      ssh: { configFile, knownHostsFile },
    }),
  );
  return { ...r, log: readFileSync(r.logFile, 'utf8') };
}

const taskStatuses = (r: PlaybookResult) =>
  readFileSync(r.eventsFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string; status?: string })
    .filter((e) => e.event === 'task_result')
    .map((e) => e.status);

function expectRefused(r: PlaybookResult & { log: string }, loginsBefore: number): void {
  expect(r.ok, r.log).toBe(false);
  expect(r.stats?.alpha).toMatchObject({ unreachable: 1, changed: 0 });
  // the first task that needs the host is where the run stops (the asserts before it run on the controller)
  expect(taskStatuses(r).filter((s) => s !== 'ok')).toEqual(['unreachable']);
  expect(r.log).toContain('Host key verification failed');
  // the host never saw a login: nothing went over that connection
  expect(acceptedLogins()).toBe(loginsBefore);
}

describe("Ansible's ssh checks host keys whatever the operator's ssh_config says", () => {
  it('with the right key in known_hosts, the run connects (StrictHostKeyChecking no in their config)', async () => {
    const r = await run(['StrictHostKeyChecking no'], knownHosts);
    expect(r.stats?.alpha, r.log).toMatchObject({ unreachable: 0 });
    expect(taskStatuses(r)).toContain('ok');
  });

  it('StrictHostKeyChecking no and a changed key: refused before any task reaches the host', async () => {
    const before = acceptedLogins();
    const r = await run(['StrictHostKeyChecking no'], impostor);
    expectRefused(r, before);
    expect(r.log).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
  });

  it('accept-new with UserKnownHostsFile /dev/null: an unknown key is refused, never taken', async () => {
    const before = acceptedLogins();
    const r = await run(['StrictHostKeyChecking accept-new', 'UserKnownHostsFile /dev/null']);
    expectRefused(r, before);
  });
});
