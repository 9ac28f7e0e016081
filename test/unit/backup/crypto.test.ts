import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertRecipients,
  decryptionError,
  identitiesOpen,
  parseIdentities,
  recipientsOf,
} from '../../../src/backup/crypto.js';
import { redact } from '../../../src/kernel/redact.js';

let dir: string;
let keyFile: string;
let identities: string[];
let recipient: string;

function newKey(name: string): { file: string; identities: string[]; recipient: string } {
  const file = path.join(dir, name);
  execFileSync('age-keygen', ['-o', file], { stdio: 'pipe' });
  const text = readFileSync(file, 'utf8');
  return { file, identities: parseIdentities(text, file), recipient: /public key: (age1\w+)/.exec(text)![1] };
}

/** What the age CLI says on stderr when it cannot decrypt `sealed` with the key in `keyFile` (as read.sh passes). */
function ageSays(sealed: Buffer, key: string): string {
  const r = spawnSync('age', ['-d', '-i', key], { input: sealed });
  expect(r.status).not.toBe(0);
  return /^age: (?:error: )?(.*)$/m.exec(r.stderr.toString())![1];
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
  ({ file: keyFile, identities, recipient } = newKey('key.txt'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('age keys (the bytes are encrypted and decrypted by the age CLI on the hosts)', () => {
  const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));

  it('reads identity files as age-keygen writes them, and keeps the key out of output', async () => {
    expect(identities).toHaveLength(1);
    expect(await recipientsOf(identities)).toEqual([recipient]);
    expect(redact(`key ${identities[0]}`)).toBe('key [REDACTED]');
    expect(() => parseIdentities('# nothing here\n', 'f')).toThrow(/holds no age identity/);
  });

  it('tells whether an identity opens what the age CLI encrypts to the recipients', async () => {
    const second = newKey('second.txt');
    const recipients = [recipient, second.recipient];
    const sealed = execFileSync(
      'age',
      recipients.flatMap((r) => ['-r', r]),
      { input: data },
    );
    for (const k of [{ file: keyFile, identities }, second]) {
      expect(await identitiesOpen(recipients, k.identities)).toBe(true);
      expect(execFileSync('age', ['-d', '-i', k.file], { input: sealed }).equals(data)).toBe(true);
    }
    expect(await identitiesOpen([second.recipient], identities)).toBe(false);
    const onlySecond = execFileSync('age', ['-r', second.recipient], { input: data });
    expect(spawnSync('age', ['-d', '-i', keyFile], { input: onlySecond }).status).not.toBe(0);
  });

  it("reads age's failures as verdicts: a wrong key apart from damaged data", () => {
    const sealed = execFileSync('age', ['-r', recipient], { input: data });
    const other = newKey('other.txt');
    expect(decryptionError(new Error(ageSays(sealed, other.file)))).toMatchObject({ code: 'wrong-key' });
    const damaged = Buffer.from(sealed);
    damaged[damaged.length - 1000] ^= 0xff;
    expect(decryptionError(new Error(ageSays(damaged, keyFile)))).toMatchObject({ code: 'tampered' });
    const cut = sealed.subarray(0, sealed.length - ((300_000 % 65_536) + 16));
    expect(decryptionError(new Error(ageSays(cut, keyFile)))).toMatchObject({ code: 'tampered' });
  });

  it('refuses a recipient that is not an age public key', () => {
    expect(() => assertRecipients(['ssh-ed25519 AAAA'])).toThrow(/is not an age recipient/);
    expect(() => assertRecipients([])).toThrow(/no age recipient/);
  });
});
