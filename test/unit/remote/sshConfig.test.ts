import { homedir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostKeyAlgorithms, parseKnownHosts } from '../../../src/remote/knownHosts.js';
import { parseHop, parseSshG } from '../../../src/remote/sshConfig.js';

describe('ssh -G output', () => {
  it('gives the effective host, port, user, keys, jumps and known_hosts files', () => {
    const eff = parseSshG(
      [
        'host rhizome',
        'user ops',
        'hostname 10.0.0.7',
        'port 2222',
        'identityfile ~/.ssh/id_ed25519',
        'identityfile /keys/coop',
        'proxyjump bastion,ops@jump2:2200',
        'userknownhostsfile ~/.ssh/known_hosts /srv/ops/known_hosts',
        'globalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2',
        'hostkeyalias rhizome.social.coop',
        'identityagent ~/.ssh/agent.sock',
      ].join('\n'),
    );
    expect(eff).toEqual({
      hostname: '10.0.0.7',
      port: 2222,
      user: 'ops',
      identityFiles: [path.join(homedir(), '.ssh/id_ed25519'), '/keys/coop'],
      proxyJump: ['bastion', 'ops@jump2:2200'],
      userKnownHostsFiles: [path.join(homedir(), '.ssh/known_hosts'), '/srv/ops/known_hosts'],
      globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
      hostKeyAlias: 'rhizome.social.coop',
      identityAgent: path.join(homedir(), '.ssh/agent.sock'),
    });
  });

  it('reads "none" as no ProxyJump and no HostKeyAlias', () => {
    const eff = parseSshG('hostname h\nport 22\nuser u\nproxyjump none\nhostkeyalias none\n');
    expect(eff.proxyJump).toEqual([]);
    expect(eff.hostKeyAlias).toBeUndefined();
    expect(parseSshG('identityagent SSH_AUTH_SOCK').identityAgent).toBeUndefined();
  });

  it('splits ProxyJump hops into user, host and port', () => {
    expect(parseHop('bastion')).toEqual({ host: 'bastion', user: undefined, port: undefined });
    expect(parseHop('ops@10.0.0.1:2200')).toEqual({ host: '10.0.0.1', user: 'ops', port: 2200 });
    expect(parseHop('[::1]:22')).toEqual({ host: '::1', user: undefined, port: 22 });
  });
});

describe('host key algorithms', () => {
  const line = (host: string, type: string) => `${host} ${type} ${Buffer.from(`${type}-key`).toString('base64')}`;

  it('asks first for the key types known_hosts holds for the host (ECDSA, RSA), not ed25519', () => {
    const entries = parseKnownHosts(
      [line('[127.0.0.1]:2201', 'ecdsa-sha2-nistp256'), line('rsa.example', 'ssh-rsa')].join('\n'),
    );
    expect(hostKeyAlgorithms(entries, '127.0.0.1', 2201)[0]).toBe('ecdsa-sha2-nistp256');
    expect(hostKeyAlgorithms(entries, 'rsa.example', 22).slice(0, 3)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
    // every algorithm stays on offer, in ssh2's order, for hosts with no entry
    expect(hostKeyAlgorithms(entries, 'other', 22)[0]).toBe('ssh-ed25519');
    expect(hostKeyAlgorithms(entries, 'other', 22)).toHaveLength(7);
  });
});
