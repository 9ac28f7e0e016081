import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { BIN, coopctl, json } from '../helpers/cli.js';
import { TmuxSession } from '../helpers/tmux.js';
import { freePort } from '../world/net.js';
import { prepareSshd, sshdFiles, startSshd, stopSshd, type SshdSpec } from '../world/sshd.js';

/**
 * An operator's laptop: a passphrase-protected key loaded into a real
 * ssh-agent, an ssh_config with a Host alias reached through a bastion
 * (ProxyJump), a HostKeyAlias whose known_hosts entry is hashed and holds
 * only the host's ECDSA key (the host offers ed25519 first), and only the
 * bastion's RSA key, in the global known_hosts file. The inventory names the
 * alias only: no ansible_host, ansible_port or ansible_user.
 */
const PASSPHRASE = 'correct horse battery staple';
const me = os.userInfo().username;
let d: string;
let bastion: SshdSpec;
let rhizome: SshdSpec;
let agentPid: number;
let agentSock: string;

function hashed(host: string, line: string): string {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(host).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')} ${line}`;
}

/** Signs the host's ed25519 key with a fresh CA (d/ca) for `principal`; sshd then offers the certificate too. */
function certifyHostKey(spec: SshdSpec, principal: string): void {
  for (const ca of ['ca', 'other-ca']) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', ca, '-f', path.join(d, ca)]);
  }
  const hostKey = sshdFiles(spec.dir).hostKey;
  execFileSync('ssh-keygen', [
    '-q',
    '-s',
    path.join(d, 'ca'),
    '-I',
    principal,
    '-h',
    '-n',
    principal,
    `${hostKey}.pub`,
  ]);
  appendFileSync(sshdFiles(spec.dir).config, `HostCertificate ${hostKey}-cert.pub\n`);
}

const caLine = (ca: string, pattern: string) =>
  `@cert-authority ${pattern} ${readFileSync(path.join(d, `${ca}.pub`), 'utf8')
    .split(' ')
    .slice(0, 2)
    .join(' ')}\n`;

function startAgent(key: string): void {
  agentSock = path.join(d, 'agent.sock');
  const out = execFileSync('ssh-agent', ['-s', '-a', agentSock]).toString();
  agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)![1]);
  const askpass = path.join(d, 'askpass');
  writeFileSync(askpass, `#!/bin/sh\necho '${PASSPHRASE}'\n`, { mode: 0o700 });
  execFileSync('ssh-add', [key], {
    env: { ...process.env, SSH_AUTH_SOCK: agentSock, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force' },
    stdio: 'pipe',
  });
}

function writeConfig(ssh: Record<string, unknown>): void {
  const prod = { inventory: 'inventory.yml', host: 'rhizome', health: { url: 'http://127.0.0.1:9' } };
  const mastodon = {
    driver: 'ansible',
    playbook: 'playbooks/mastodon.yml',
    versions: { type: 'git', url: 'https://example.invalid/mastodon.git' },
    environments: { prod },
  };
  writeFileSync(path.join(d, 'coopctl.yaml'), stringify({ ssh, services: { mastodon } }));
}

const laptop = {
  config: 'ssh_config',
  knownHosts: 'known_hosts',
  globalKnownHosts: 'ssh_known_hosts',
  identityFile: 'id_ed25519',
  connectTimeout: '5s',
};

function lockStatus(env: Record<string, string> = { SSH_AUTH_SOCK: agentSock }) {
  return coopctl(['--json', 'lock', 'status', 'mastodon', '--env', 'prod'], {
    cwd: d,
    env: { ...env, XDG_CACHE_HOME: path.join(d, 'cache') },
  });
}

const acceptedLogins = (spec: SshdSpec) =>
  readFileSync(sshdFiles(spec.dir).log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('Accepted publickey')).length;

beforeAll(async () => {
  d = mkdtempSync(path.join(os.tmpdir(), 'coopctl-laptop-'));
  const key = path.join(d, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', PASSPHRASE, '-C', 'operator', '-f', key]);
  writeFileSync(path.join(d, 'authorized_keys'), readFileSync(`${key}.pub`));
  const spec = (name: string, port: number, hostKeys: SshdSpec['hostKeys']): SshdSpec => ({
    dir: path.join(d, name),
    address: '127.0.0.1',
    port,
    authorizedKeys: path.join(d, 'authorized_keys'),
    env: {},
    hostKeys,
  });
  bastion = spec('bastion', await freePort(), ['ed25519', 'rsa']);
  rhizome = spec('rhizome', await freePort(), ['ed25519', 'ecdsa']);
  prepareSshd(bastion);
  prepareSshd(rhizome);
  certifyHostKey(rhizome, 'rhizome.social.coop');
  const pub = (spec: SshdSpec, type: string) =>
    readFileSync(path.join(spec.dir, `ssh_host_${type}_key.pub`), 'utf8')
      .split(' ')
      .slice(0, 2)
      .join(' ');
  await Promise.all([startSshd(bastion), startSshd(rhizome)]);
  writeFileSync(
    path.join(d, 'ssh_config'),
    [
      'Host rhizome',
      '  HostName 127.0.0.1',
      `  Port ${rhizome.port}`,
      `  User ${me}`,
      '  ProxyJump bastion',
      '  HostKeyAlias rhizome.social.coop',
      // As many operators have it: one master connection per host, reused by every later ssh.
      '  ControlMaster auto',
      `  ControlPath ${path.join(d, 'cm-%C')}`,
      '  ControlPersist 60',
      'Host bastion',
      '  HostName 127.0.0.1',
      `  Port ${bastion.port}`,
      `  User ${me}`,
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(d, 'known_hosts'), `${hashed('rhizome.social.coop', pub(rhizome, 'ecdsa'))}\n`);
  writeFileSync(path.join(d, 'ssh_known_hosts'), `[127.0.0.1]:${bastion.port} ${pub(bastion, 'rsa')}\n`);
  mkdirSync(path.join(d, 'state'));
  writeFileSync(
    path.join(d, 'inventory.yml'),
    `all:\n  hosts:\n    rhizome:\n      coopctl_state_dir: ${path.join(d, 'state')}\n`,
  );
  startAgent(key);
});

afterAll(async () => {
  const layered = path.join(d, 'layered_ssh_config');
  if (existsSync(layered)) spawnSync('ssh', ['-F', layered, '-O', 'exit', 'rhizome'], { stdio: 'ignore' });
  if (agentPid) process.kill(agentPid);
  await Promise.all([stopSshd(bastion.dir), stopSshd(rhizome.dir)]);
  rmSync(d, { recursive: true, force: true });
});

describe("an operator's laptop: ssh-agent, ssh_config, ProxyJump, ECDSA and RSA known_hosts entries", () => {
  it('reaches the host through the bastion with the agent, the key stays encrypted on disk', async () => {
    writeConfig(laptop);
    const before = acceptedLogins(bastion);
    const r = await lockStatus();
    expect(r.stderr).not.toMatch(/Encrypted private OpenSSH key|CHANGED|cannot reach/);
    expect(r.code).toBe(0);
    expect(json(r)).toMatchObject({ held: false });
    expect(acceptedLogins(bastion)).toBeGreaterThan(before);
  });

  it('without an agent and without a terminal, an encrypted key is a clear exit 2 that names ssh-add', async () => {
    writeConfig({ ...laptop, agent: false });
    const r = await lockStatus();
    expect(r.code).toBe(2);
    expect(json<{ error: { message: string; hints: string[] } }>(r).error).toMatchObject({
      message: expect.stringContaining('passphrase-protected'),
      hints: [expect.stringContaining('ssh-add')],
    });
  });

  it('at a terminal with no agent, asks for the passphrase once (not echoed) and connects', async () => {
    writeConfig({ ...laptop, agent: false });
    const env = ['env', '-u', 'CI', '-u', 'SSH_AUTH_SOCK', 'NO_COLOR=1', `XDG_CACHE_HOME=${path.join(d, 'cache')}`];
    const t = await TmuxSession.start([...env, process.execPath, BIN, 'lock', 'status', 'mastodon', '--env', 'prod'], {
      cwd: d,
    });
    try {
      await t.waitForScreen('the passphrase prompt', (s) => s.includes(`Passphrase for ${path.join(d, 'id_ed25519')}`));
      await t.send('-l', PASSPHRASE);
      await t.send('Enter');
      expect(await t.exitCode()).toBe(0);
      const out = await t.transcript();
      expect(out).toContain('mastodon/prod: not locked');
      expect(out).not.toContain(PASSPHRASE);
    } finally {
      await t.close();
    }
  });

  it('a changed host key is exit 2, also for a host reached through a jump host', async () => {
    writeConfig({ ...laptop, knownHosts: 'other_known_hosts' });
    writeFileSync(
      path.join(d, 'other_known_hosts'),
      `rhizome.social.coop ${readFileSync(path.join(d, 'id_ed25519.pub'))}`,
    );
    const r = await lockStatus();
    expect(r.code).toBe(2);
    expect(json<{ error: { code: string; message: string } }>(r).error).toMatchObject({
      code: 'host-key',
      message: expect.stringContaining('has CHANGED'),
    });
  });

  it('a host known only through a @cert-authority line is reached; a certificate of another CA is exit 2', async () => {
    writeConfig({ ...laptop, knownHosts: 'ca_known_hosts' });
    writeFileSync(path.join(d, 'ca_known_hosts'), caLine('ca', '*.social.coop'));
    const ok = await lockStatus();
    expect(ok.stderr).not.toMatch(/host key|cannot reach/);
    expect(ok.code).toBe(0);
    expect(json(ok)).toMatchObject({ held: false });

    // The operator's own ssh to the host is open meanwhile: a master connection a later ssh would reuse unchecked.
    const layered = path.join(d, 'layered_ssh_config');
    const files = `UserKnownHostsFile ${path.join(d, 'ca_known_hosts')}\nGlobalKnownHostsFile ${path.join(d, 'ssh_known_hosts')}`;
    writeFileSync(layered, `${files}\nInclude ${path.join(d, 'ssh_config')}\n`);
    execFileSync('ssh', ['-F', layered, '-o', 'BatchMode=yes', '-f', '-N', 'rhizome'], {
      env: { ...process.env, SSH_AUTH_SOCK: agentSock },
      stdio: 'ignore',
    });
    writeFileSync(path.join(d, 'ca_known_hosts'), caLine('other-ca', '*.social.coop'));
    const refused = await lockStatus();
    expect(refused.code).toBe(2);
    expect(json<{ error: { code: string; message: string } }>(refused).error).toMatchObject({
      code: 'host-key',
      message: expect.stringMatching(
        /@cert-authority does not vouch for it \(its certificate is signed by ssh-ed25519/,
      ),
    });
  });
});
