import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostReadCommand, parseHostRead } from '../../../src/backup/hostRead.js';
import { parseSent, relayCommand } from '../../../src/backup/send.js';
import { toShell } from '../../../src/remote/quote.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'coopctl-relay-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const keyFile = path.join(work, 'key.txt');
execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
const identity = /^AGE-SECRET-KEY-.*$/m.exec(readFileSync(keyFile, 'utf8'))![0];
const recipient = execFileSync('age-keygen', ['-y', keyFile]).toString().trim();
/** A zstd-compressed "dump" whose plaintext is easy to spot. */
const plain = Buffer.from('PLAINTEXT-DUMP-LINE '.repeat(200_000));
const dumpFile = path.join(work, "db.dump.zst $(id)'");
writeFileSync(dumpFile, execFileSync('zstd', ['-q', '-c'], { input: plain }));
const compressed = readFileSync(dumpFile);

/** A host program as the host runs it (sshd hands the line to a shell); HOME: bash reads no ~/.bashrc of ours. */
function run(line: string, input: Buffer | string = '') {
  return spawnSync('sh', ['-c', line], { input, env: { PATH: process.env.PATH, HOME: work }, maxBuffer: 1 << 28 });
}

describe('the relay (a store on this machine): ciphertext out of the host, ciphertext back in', () => {
  it('the host sends age ciphertext on stdout and reports the hashes of what it sent and what it read', () => {
    const r = run(toShell(relayCommand(dumpFile, [recipient])));
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    expect(out.includes(compressed.subarray(0, 4096))).toBe(false);
    expect(parseSent(r.stderr.toString())).toEqual({
      sha256: sha(out),
      size: out.length,
      plainSha256: sha(compressed),
    });
    expect(execFileSync('age', ['-d', '-i', keyFile], { input: out }).equals(compressed)).toBe(true);
    // A plaintext backup (--allow-plaintext): the file as it is.
    const p = run(toShell(relayCommand(dumpFile, [])));
    expect(p.stdout.equals(compressed)).toBe(true);
    expect(parseSent(p.stderr.toString())).toMatchObject({ sha256: sha(compressed), plainSha256: sha(compressed) });
  });

  it('the host reads relayed ciphertext from stdin, the identity first and never in its command line', () => {
    const sealed = execFileSync('age', ['-r', recipient], { input: compressed });
    const feed = { kind: 'feed', decrypt: 'age', into: ['sha256sum'] } as const;
    const { cmd, stdin } = hostReadCommand('relay', 'mastodon/prod/20251126T035812Z-3f9a1c/db.dump.zst.age', feed, [
      identity,
    ]);
    expect(toShell(cmd)).not.toContain('AGE-SECRET-KEY');
    expect(stdin).toBe(`${identity}\n\n`);
    const r = run(toShell(cmd), Buffer.concat([Buffer.from(stdin), sealed]));
    expect(r.status).toBe(0);
    const result = parseHostRead(r.stdout.toString(), 'h')!;
    expect(result).toMatchObject({ fetch: 0, exit: 0, sha256: sha(sealed), size: sealed.length });
    expect(result.plainSha256).toBe(sha(compressed));
    expect(result.output).toBe(`${sha(plain)}  -\n`);
  });

  it('a damaged relayed object is hashed whole on the host, and age refuses it', () => {
    const sealed = execFileSync('age', ['-r', recipient], { input: compressed });
    sealed[sealed.length - 100] ^= 0x01;
    const feed = { kind: 'feed', decrypt: 'age', into: ['sha256sum'] } as const;
    const { cmd, stdin } = hostReadCommand('relay', 'a/b', feed, [identity]);
    const r = run(toShell(cmd), Buffer.concat([Buffer.from(stdin), sealed]));
    expect(r.status).not.toBe(0);
    expect(parseHostRead(r.stdout.toString(), 'h')).toMatchObject({ sha256: sha(sealed), size: sealed.length });
    expect(r.stderr.toString()).toMatch(/^age: error: /m);
  });
});
