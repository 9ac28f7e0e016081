import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, prepareSshd, startSshd, stopSshd } from '../world/sshd.js';
import { freePort } from '../world/net.js';
import { coopctl, json } from '../helpers/cli.js';

/**
 * Bad input never reaches a host: every case below points its inventory at a
 * TCP listener that counts connections, and the count must stay zero.
 */
let dir: string;
let listener: net.Server;
let port: number;
let connections = 0;

function writeWorld(opts: { config?: string; inventory?: string } = {}) {
  const d = mkdtempSync(path.join(dir, 'repo-'));
  mkdirSync(path.join(d, 'inventories'));
  writeFileSync(
    path.join(d, 'inventories', 'prod.yml'),
    opts.inventory ?? `all:\n  hosts:\n    rhizome:\n      ansible_host: 127.0.0.1\n      ansible_port: ${port}\n`,
  );
  writeFileSync(
    path.join(d, 'coopctl.yaml'),
    opts.config ??
      `ssh: { knownHosts: known_hosts, connectTimeout: 2s }
services:
  mastodon:
    driver: ansible
    playbook: playbooks/mastodon.yml
    versions: { type: git, url: https://example.invalid/mastodon.git }
    environments:
      prod:
        inventory: inventories/prod.yml
        host: rhizome
        health: { url: "http://127.0.0.1:${port}" }
`,
  );
  return d;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-badinput-'));
  listener = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  port = (listener.address() as net.AddressInfo).port;
});

afterAll(() => {
  listener.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('bad input: clear message, exit 2, nothing run remotely', () => {
  it('malformed YAML', async () => {
    const d = writeWorld({ config: 'services:\n  mastodon: {driver: ansible\n' });
    const r = await coopctl(['status'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/coopctl\.yaml:\d+:\d+ YAML syntax error/);
  });

  it('unknown key, with file and line', async () => {
    const d = writeWorld();
    writeFileSync(
      path.join(d, 'coopctl.yaml'),
      `stateDirr: /x\n${(await import('node:fs')).readFileSync(path.join(d, 'coopctl.yaml'), 'utf8')}`,
    );
    const r = await coopctl(['status'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('coopctl.yaml:1 stateDirr: unknown key');
  });

  it('unknown service, with a suggestion, also as JSON', async () => {
    const d = writeWorld();
    const r = await coopctl(['--json', 'status', 'mastodn'], { cwd: d });
    expect(r.code).toBe(2);
    expect(json(r)).toEqual({
      error: { code: 'bad-input', message: 'unknown service "mastodn" — did you mean "mastodon"?' },
    });
  });

  it('unknown environment', async () => {
    const d = writeWorld();
    const r = await coopctl(['preflight', 'mastodon', '--env', 'staging'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--env: unknown environment of mastodon "staging"');
  });

  it('unknown host in the inventory, with file:line and a suggestion', async () => {
    const d = writeWorld();
    const cfg = path.join(d, 'coopctl.yaml');
    writeFileSync(cfg, (await import('node:fs')).readFileSync(cfg, 'utf8').replace('host: rhizome', 'host: rhizom'));
    const r = await coopctl(['preflight', 'mastodon', '--env', 'prod'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'coopctl.yaml:10 services.mastodon.environments.prod.host: unknown host "rhizom" — did you mean "rhizome"? in inventories/prod.yml',
    );
  });

  it.each([['4.4.8; rm -rf /'], ['4.4.8 4.5.0'], ['$(id)'], ['../../etc/passwd'], ['--help']])(
    'a version with shell metacharacters or spaces: %s',
    async (v) => {
      const d = writeWorld();
      const r = await coopctl(['preflight', 'mastodon', '--env', 'prod', `--to=${v}`], { cwd: d });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('is not a valid version');
    },
  );

  it('an inventory that does not parse', async () => {
    const d = writeWorld({ inventory: 'all:\n  hosts:\n    rhizome: [\n' });
    const r = await coopctl(['preflight', 'mastodon', '--env', 'prod'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /coopctl\.yaml:9 services\.mastodon\.environments\.prod\.inventory: .*inventories\/prod\.yml: inventory does not parse/,
    );
  });

  it('an unknown flag', async () => {
    const r = await coopctl(['status', '--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--frobnicate'");
  });

  it('a duration too long for a timer, or for any soak, names its flag', async () => {
    const d = writeWorld();
    const wait = await coopctl(
      ['upgrade', 'mastodon', '--env', 'prod', '--to', '4.4.8', '--yes', '--lock-wait', '99999999999999h'],
      { cwd: d },
    );
    expect(wait.code).toBe(2);
    expect(wait.stderr).toContain('--lock-wait: "99999999999999h" is longer than a timer can wait');
    const soak = await coopctl(['promote', 'mastodon', '--soak', `${'9'.repeat(400)}d`], { cwd: d });
    expect(soak.code).toBe(2);
    expect(soak.stderr).toContain('--soak: "99999');
  });

  it('no config anywhere', async () => {
    const d = mkdtempSync(path.join(dir, 'empty-'));
    const r = await coopctl(['status'], { cwd: d, env: { XDG_CONFIG_HOME: d } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no coopctl.yaml found');
  });

  it('touched no host in any of the cases above', () => {
    expect(connections).toBe(0);
  });
});

describe('host keys', () => {
  it('a changed host key is refused with exit 2 (3 inside preflight), naming the fingerprint', async () => {
    const d = mkdtempSync(path.join(dir, 'hk-'));
    const sshPort = await freePort();
    const client = generateKey(path.join(d, 'id'));
    writeFileSync(path.join(d, 'authorized_keys'), `${client}\n`);
    const spec = {
      dir: path.join(d, 'sshd'),
      address: '127.0.0.1',
      port: sshPort,
      authorizedKeys: path.join(d, 'authorized_keys'),
      env: {},
    };
    prepareSshd(spec);
    await startSshd(spec);
    try {
      const other = generateKey(path.join(d, 'other'), 'x').split(' ').slice(0, 2).join(' ');
      writeFileSync(path.join(d, 'known_hosts'), `[127.0.0.1]:${sshPort} ${other}\n`);
      const w = writeWorld({
        inventory: `all:\n  hosts:\n    rhizome:\n      ansible_host: 127.0.0.1\n      ansible_port: ${sshPort}\n      ansible_user: ${os.userInfo().username}\n`,
      });
      const cfg = path.join(w, 'coopctl.yaml');
      writeFileSync(
        cfg,
        (await import('node:fs'))
          .readFileSync(cfg, 'utf8')
          .replace(
            'ssh: { knownHosts: known_hosts, connectTimeout: 2s }',
            `ssh: { knownHosts: ${d}/known_hosts, identityFile: ${d}/id, agent: false, connectTimeout: 2s }`,
          ),
      );
      const r = await coopctl(['lock', 'status', 'mastodon', '--env', 'prod'], { cwd: w });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /host key of rhizome .* has CHANGED: the key offered \(ssh-ed25519 SHA256:[\w+/]+\) does not match/,
      );
      const pf = await coopctl(['--json', 'preflight', 'mastodon', '--env', 'prod'], { cwd: w });
      expect(pf.code).toBe(3);
      const ssh = json<{ checks: Array<{ id: string; status: string; message: string }> }>(pf).checks.find(
        (c) => c.id === 'ssh',
      );
      expect(ssh).toMatchObject({ status: 'fail' });
      expect(ssh!.message).toContain('has CHANGED');
      writeFileSync(path.join(d, 'known_hosts'), '');
      const unknown = await coopctl(['lock', 'status', 'mastodon', '--env', 'prod'], { cwd: w });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('is not in');
      expect(unknown.stderr).toContain('ssh-keyscan -p');
    } finally {
      await stopSshd(spec.dir);
    }
  });
});
