import { describe, expect, it } from 'vitest';
import { probeArgs, readProbe } from '../../../src/remote/hostCertificate.js';
import { hostKeyAlgorithms, parseKnownHosts } from '../../../src/remote/knownHosts.js';

const CERT =
  'debug1: Server host certificate: ssh-ed25519-cert-v01@openssh.com SHA256:5FyzNhuC/7ogT/ydbQUmu/Aw0IO9+qWX2NYdrcl4dbE, ' +
  'serial 0 ID "host1" CA ssh-ed25519 SHA256:zAFZhtyZ2wak2IN8a4KyA3LHD4PsEpYAfJCxQDV9NUw valid from 2026-11-29T18:12:58';

describe('a host certificate, judged by OpenSSH', () => {
  it('asks OpenSSH to check the host only: no authentication, strict, through the ssh_config', () => {
    const args = probeArgs({ host: 'rhizome', port: 2222, user: 'op', files: {}, timeoutMs: 9_500 }, '/tmp/cfg');
    expect(args).toEqual([
      '-v',
      '-F',
      '/tmp/cfg',
      '-p',
      '2222',
      '-l',
      'op',
      '-o',
      'BatchMode=yes',
      '-o',
      'PreferredAuthentications=none',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'ControlMaster=no',
      '-o',
      'ControlPath=none',
      '-o',
      'ConnectTimeout=10',
      '--',
      'rhizome',
      'true',
    ]);
  });

  it('accepts the plain key of a certificate OpenSSH matched, and says why otherwise', () => {
    const known = `${CERT}\ndebug1: Host '[127.0.0.1]:24022' is known and matches the ED25519-CERT host certificate.\n`;
    expect(readProbe(known)).toEqual({
      ok: true,
      fingerprint: 'SHA256:5FyzNhuC/7ogT/ydbQUmu/Aw0IO9+qWX2NYdrcl4dbE',
      keyType: 'ssh-ed25519',
    });
    const otherCa = `${CERT}\ndebug1: No matching CA found. Retry with plain key\nHost key verification failed.\n`;
    expect(readProbe(otherCa)).toEqual({
      ok: false,
      why: 'its certificate is signed by ssh-ed25519 SHA256:zAFZhtyZ2wak2IN8a4KyA3LHD4PsEpYAfJCxQDV9NUw, no CA of ours',
    });
    expect(readProbe('OpenSSH_9.2p1\nssh: connect to host 127.0.0.1 port 9: Connection refused\n')).toEqual({
      ok: false,
      why: 'OpenSSH got no certificate from it: ssh: connect to host 127.0.0.1 port 9: Connection refused',
    });
    const expired = `${CERT}\nCertificate invalid: expired\nHost key verification failed.\n`;
    expect(readProbe(expired)).toEqual({
      ok: false,
      why: 'OpenSSH refused its certificate: Host key verification failed.',
    });
  });

  it('asks ssh2 for the key type the certificate vouches for first', () => {
    const entries = parseKnownHosts('@cert-authority *.social.coop ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==\n');
    expect(hostKeyAlgorithms(entries, 'rhizome.social.coop', 22, 'ecdsa-sha2-nistp256')[0]).toBe('ecdsa-sha2-nistp256');
    expect(hostKeyAlgorithms(entries, 'rhizome.social.coop', 22, 'ssh-rsa').slice(0, 3)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
  });
});
