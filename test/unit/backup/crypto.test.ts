import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Decrypter } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptingStream, encryptingStream, parseIdentities, recipientsOf } from '../../../src/backup/crypto.js';
import { redact } from '../../../src/kernel/redact.js';

let dir: string;
let keyFile: string;
let identities: string[];
let recipient: string;

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

async function encrypt(data: Buffer, recipients: string[]): Promise<Buffer> {
  const enc = await encryptingStream(recipients);
  const out: Buffer[] = [];
  await pipeline(Readable.from([data]), enc, async (src: AsyncIterable<Uint8Array>) => {
    for await (const c of src) out.push(Buffer.from(c));
  });
  return Buffer.concat(out);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
  keyFile = path.join(dir, 'key.txt');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
  const text = readFileSync(keyFile, 'utf8');
  identities = parseIdentities(text, keyFile);
  recipient = /public key: (age1\w+)/.exec(text)![1];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('age encryption', () => {
  // Several 64 KiB STREAM chunks plus a partial one.
  const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));

  it('reads identity files as age-keygen writes them, and keeps the key out of output', async () => {
    expect(identities).toHaveLength(1);
    expect(await recipientsOf(identities)).toEqual([recipient]);
    expect(redact(`key ${identities[0]}`)).toBe('key [REDACTED]');
    expect(() => parseIdentities('# nothing here\n', 'f')).toThrow(/holds no age identity/);
  });

  it('writes what the age CLI decrypts, and reads what the age CLI encrypts', async () => {
    const file = path.join(dir, 'obj.age');
    writeFileSync(file, await encrypt(data, [recipient]));
    expect(execFileSync('age', ['-d', '-i', keyFile, file]).equals(data)).toBe(true);
    const byCli = execFileSync('age', ['-r', recipient], { input: data });
    expect((await collect(await decryptingStream(Readable.from([byCli]), identities))).equals(data)).toBe(true);
  });

  it('seals and opens every chunk boundary the way age does (empty, exact and partial 64 KiB chunks)', async () => {
    const file = path.join(dir, 'edge.age');
    for (const size of [0, 1, 65_535, 65_536, 65_537, 131_072, 200_000]) {
      const plain = data.subarray(0, size);
      const sealed = await encrypt(plain, [recipient]);
      writeFileSync(file, sealed);
      expect(execFileSync('age', ['-d', '-i', keyFile, file]).equals(plain), `age CLI, ${size} bytes`).toBe(true);
      expect(
        (await collect(await decryptingStream(Readable.from([sealed]), identities))).equals(plain),
        `coopctl, ${size} bytes`,
      ).toBe(true);
      const reference = new Decrypter();
      reference.addIdentity(identities[0]);
      expect(Buffer.from(await reference.decrypt(sealed)).equals(plain), `age-encryption, ${size} bytes`).toBe(true);
    }
  });

  it('encrypts to every recipient', async () => {
    const other = path.join(dir, 'second.txt');
    execFileSync('age-keygen', ['-o', other], { stdio: 'pipe' });
    const second = parseIdentities(readFileSync(other, 'utf8'), other);
    const sealed = await encrypt(data, [recipient, ...(await recipientsOf(second))]);
    expect((await collect(await decryptingStream(Readable.from([sealed]), second))).equals(data)).toBe(true);
    expect((await collect(await decryptingStream(Readable.from([sealed]), identities))).equals(data)).toBe(true);
  });

  it('tells a wrong key from damaged data', async () => {
    const sealed = await encrypt(data, [recipient]);
    const other = path.join(dir, 'other.txt');
    execFileSync('age-keygen', ['-o', other], { stdio: 'pipe' });
    await expect(
      decryptingStream(Readable.from([sealed]), parseIdentities(readFileSync(other, 'utf8'), other)),
    ).rejects.toMatchObject({ code: 'wrong-key' });
    const damaged = Buffer.from(sealed);
    damaged[damaged.length - 1000] ^= 0xff;
    const plain = await decryptingStream(Readable.from([damaged]), identities);
    await expect(collect(plain)).rejects.toThrow(/chunk 4 does not authenticate/);
    // Cut at a chunk boundary: every chunk authenticates, but the last one is missing.
    const cut = sealed.subarray(0, sealed.length - ((300_000 % 65_536) + 16));
    await expect(collect(await decryptingStream(Readable.from([cut]), identities))).rejects.toThrow(
      /chunk 3 does not authenticate/,
    );
    await expect(decryptingStream(Readable.from([sealed.subarray(0, 40)]), identities)).rejects.toMatchObject({
      code: 'tampered',
    });
  });

  it('refuses a recipient that is not an age public key', async () => {
    await expect(encryptingStream(['ssh-ed25519 AAAA'])).rejects.toMatchObject({ code: 'config' });
  });
});
