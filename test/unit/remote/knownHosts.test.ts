import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blobKeyType, fingerprint, parseKnownHosts, verifyHostKey } from '../../../src/remote/knownHosts.js';

function blob(type: string, seed: string): Buffer {
  const t = Buffer.from(type);
  const k = Buffer.from(seed.padEnd(32, 'x'));
  const len = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  return Buffer.concat([len(t.length), t, len(k.length), k]);
}

const KEY_A = blob('ssh-ed25519', 'a');
const KEY_B = blob('ssh-ed25519', 'b');
const line = (host: string, key: Buffer, marker = '') =>
  `${marker}${marker ? ' ' : ''}${host} ${blobKeyType(key)} ${key.toString('base64')}`;

describe('known_hosts verification', () => {
  it('accepts the pinned key for [host]:port and plain host entries', () => {
    const entries = parseKnownHosts(
      [line('[127.0.0.1]:2201', KEY_A), line('rhizome.social.coop,1.2.3.4', KEY_B), '# comment'].join('\n'),
    );
    expect(verifyHostKey(entries, '127.0.0.1', 2201, KEY_A)).toEqual({ ok: true });
    expect(verifyHostKey(entries, 'rhizome.social.coop', 22, KEY_B)).toEqual({ ok: true });
  });

  it('tells an unknown host from a changed key', () => {
    const entries = parseKnownHosts(line('[127.0.0.1]:2201', KEY_A));
    const changed = verifyHostKey(entries, '127.0.0.1', 2201, KEY_B);
    expect(changed).toMatchObject({ ok: false, reason: 'mismatch', offeredType: 'ssh-ed25519' });
    expect(verifyHostKey(entries, '127.0.0.1', 2202, KEY_A)).toMatchObject({ ok: false, reason: 'unknown' });
    // port 22 is written without brackets; a bracketed entry for another port does not match it
    expect(verifyHostKey(entries, '127.0.0.1', 22, KEY_A)).toMatchObject({ ok: false, reason: 'unknown' });
  });

  it('matches hashed entries (HashKnownHosts yes)', () => {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[10.0.0.5]:2222').digest();
    const entries = parseKnownHosts(
      `|1|${salt.toString('base64')}|${hash.toString('base64')} ssh-ed25519 ${KEY_A.toString('base64')}`,
    );
    expect(verifyHostKey(entries, '10.0.0.5', 2222, KEY_A)).toEqual({ ok: true });
    expect(verifyHostKey(entries, '10.0.0.5', 2222, KEY_B)).toMatchObject({ reason: 'mismatch' });
  });

  it('refuses revoked keys and honours wildcards and negations', () => {
    const entries = parseKnownHosts(
      [line('*.social.coop,!evil.social.coop', KEY_A), line('pando.social.coop', KEY_B, '@revoked')].join('\n'),
    );
    expect(verifyHostKey(entries, 'hypha.social.coop', 22, KEY_A)).toEqual({ ok: true });
    expect(verifyHostKey(entries, 'evil.social.coop', 22, KEY_A)).toMatchObject({ reason: 'unknown' });
    expect(verifyHostKey(entries, 'pando.social.coop', 22, KEY_B)).toMatchObject({ reason: 'revoked' });
  });

  it('prints fingerprints like ssh-keygen', () => {
    expect(fingerprint(KEY_A)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
