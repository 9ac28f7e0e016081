import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * OpenSSH known_hosts, read-only: plain and hashed (|1|salt|hash) host
 * patterns, [host]:port forms, @revoked and @cert-authority markers (the
 * certificate itself is judged by OpenSSH: hostCertificate.ts). coopctl never adds keys:
 * trusting a host is an operator's decision (ssh-keyscan + review).
 */
interface KnownHostEntry {
  patterns: string[];
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  key: Buffer;
  marker?: '@revoked' | '@cert-authority';
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (parts[0] === '@revoked' || parts[0] === '@cert-authority') marker = parts.shift() as KnownHostEntry['marker'];
    if (parts.length < 3) continue;
    const [hostField, keyType, keyB64] = parts;
    const key = Buffer.from(keyB64, 'base64');
    if (hostField.startsWith('|1|')) {
      const [, , salt, hash] = hostField.split('|');
      entries.push({
        patterns: [],
        hashed: { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') },
        keyType,
        key,
        marker,
      });
    } else {
      entries.push({ patterns: hostField.split(','), keyType, key, marker });
    }
  }
  return entries;
}

export function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    '^' +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
    'i',
  );
  return re.test(value);
}

function entryMatches(e: KnownHostEntry, token: string): boolean {
  if (e.hashed) {
    const h = createHmac('sha1', e.hashed.salt).update(token).digest();
    return h.equals(e.hashed.hash);
  }
  let match = false;
  for (const p of e.patterns) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), token)) return false;
    } else if (globMatch(p, token)) match = true;
  }
  return match;
}

/** The key type named inside an SSH public key blob ("ssh-ed25519", ...). */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

export type HostKeyVerdict =
  | { ok: true }
  | {
      ok: false;
      reason: 'unknown' | 'mismatch' | 'revoked';
      offeredType: string;
      fingerprint: string;
      /** Why a certificate did not vouch for the key, when a @cert-authority line names the host. */
      certificate?: string;
    };

/** Same format as `ssh-keygen -lf`: SHA256:base64 without padding. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function verifyHostKey(entries: KnownHostEntry[], host: string, port: number, offered: Buffer): HostKeyVerdict {
  const token = hostToken(host, port);
  const offeredType = blobKeyType(offered);
  const fp = fingerprint(offered);
  const matching = entries.filter((e) => entryMatches(e, token));
  if (matching.some((e) => e.marker === '@revoked' && e.key.equals(offered))) {
    return { ok: false, reason: 'revoked', offeredType, fingerprint: fp };
  }
  const plain = matching.filter((e) => !e.marker);
  if (plain.some((e) => e.key.equals(offered))) return { ok: true };
  if (plain.length > 0) return { ok: false, reason: 'mismatch', offeredType, fingerprint: fp };
  return { ok: false, reason: 'unknown', offeredType, fingerprint: fp };
}

/**
 * Whether only a @cert-authority line names the host: its certificate may then vouch for a key no line holds.
 * A host with plain lines is judged by them alone (a key they lack is a changed one).
 */
export function knownByCertAuthorityOnly(entries: KnownHostEntry[], host: string, port: number): boolean {
  const token = hostToken(host, port);
  const matching = entries.filter((e) => entryMatches(e, token));
  return matching.some((e) => e.marker === '@cert-authority') && !matching.some((e) => !e.marker);
}

/** What ssh2 can negotiate, in its default order. */
const ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * Host key algorithms to offer, those of the host's known_hosts entries first
 * (as OpenSSH orders them): a host pinned by its ECDSA or RSA key is then asked
 * for that key, not for an ed25519 key that would look like a changed one;
 * likewise the type of the key a host certificate vouches for.
 */
export function hostKeyAlgorithms(entries: KnownHostEntry[], host: string, port: number, certified = ''): string[] {
  const token = hostToken(host, port);
  const types = entries.filter((e) => !e.marker && entryMatches(e, token)).map((e) => e.keyType);
  const known = new Set(
    [...types, ...(certified ? [certified] : [])].flatMap((t) =>
      t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t],
    ),
  );
  return [...ALGORITHMS.filter((a) => known.has(a)), ...ALGORITHMS.filter((a) => !known.has(a))];
}

export function loadKnownHosts(file: string): KnownHostEntry[] {
  try {
    return parseKnownHosts(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
