import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { AbraClient } from '../../../src/drivers/abra/client.js';
import { readDumpBack } from '../../../src/drivers/abra/dumpReadback.js';
import { ExecaRunner } from '../../../src/kernel/process.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const FILE = '/var/lib/docker/volumes/b_db-data/_data/backup.sql';
const PG_DUMP =
  '--\n-- PostgreSQL database dump\n--\nCREATE TABLE t (i int);\n--\n-- PostgreSQL database dump complete\n--\n\n';

/** An abra whose `backup download` leaves a .tar.gz of FILE, holding `content`, in its working directory. */
function abraDownloading(content: Buffer): AbraClient {
  const dir = mkdtempSync(path.join(tmp, 'snap-'));
  mkdirSync(path.join(dir, path.dirname(FILE)), { recursive: true });
  writeFileSync(path.join(dir, FILE), content);
  const archive = path.join(dir, 'a.tar.gz');
  execFileSync('tar', ['-czf', archive, '-C', dir, FILE.slice(1)]);
  const bin = path.join(dir, 'abra');
  writeFileSync(bin, `#!/bin/sh\ncp '${archive}' "$PWD/b_sandbox_20261207.tar.gz"\n`);
  chmodSync(bin, 0o755);
  return new AbraClient({ runner: new ExecaRunner(false), settings: { bin } });
}

const read = (content: string | Buffer) =>
  readDumpBack(new ExecaRunner(false), abraDownloading(Buffer.from(content)), { domain: 'b.x', id: 'ab12cd34' }, FILE);

describe('reading a snapshot dump back', () => {
  it('proves a complete dump, plain or gzip, by its bytes and its footer', async () => {
    expect(await read(PG_DUMP)).toEqual({ path: FILE, bytes: PG_DUMP.length });
    expect(await read(gzipSync(PG_DUMP))).toEqual({ path: FILE, bytes: PG_DUMP.length });
    const mariadb = '-- MariaDB dump 10.19\nCREATE TABLE t (i int);\n-- Dump completed on 2026-12-07 23:40:01\n';
    expect((await read(mariadb)).bytes).toBe(mariadb.length);
  });

  it('refuses an empty dump and one cut off before its footer', async () => {
    await expect(read('')).rejects.toThrow(/is not a backup: .*backup\.sql is empty/);
    await expect(read(PG_DUMP.slice(0, 60))).rejects.toThrow(/ends before its dump tool finished/);
  });
});
