import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { BackupError } from '../../backup/errors.js';
import type { ProcessRunner } from '../../kernel/process.js';
import type { AbraClient } from './client.js';

/** What reading a dump file of a snapshot back found. */
interface DumpReadback {
  path: string;
  /** Bytes of the dump as its tool wrote it (after gunzip for a compressed one). */
  bytes: number;
}

// source: PostgreSQL src/bin/pg_dump/pg_backup_archiver.c (RestoreArchive ends a plain dump with
// "-- PostgreSQL database dump complete"); MariaDB client/mysqldump.c (write_footer: "-- Dump completed")
const COMPLETE_FOOTERS = [/^-- PostgreSQL database dump complete$/m, /^-- Dump completed\b/m];

/** Bytes and the last 4 KiB of a file, gunzipped when it is gzip (1f 8b), streamed: dumps can be large. */
async function measure(file: string): Promise<{ bytes: number; tail: string }> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    createReadStream(file, { start: 0, end: 1 })
      .on('data', (c) => chunks.push(c as Buffer))
      .on('end', () => resolve(Buffer.concat(chunks)))
      .on('error', reject);
  });
  const gzip = head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
  let bytes = 0;
  let tail = Buffer.alloc(0);
  const source = gzip ? createReadStream(file).pipe(createGunzip()) : createReadStream(file);
  for await (const chunk of source as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    tail = Buffer.concat([tail, chunk]).subarray(-4096);
  }
  return { bytes, tail: tail.toString('utf8') };
}

/**
 * Proves the dump file `file` of snapshot `id` by reading it back: abra downloads its archive into a private
 * directory, tar extracts it there, and the dump must be non-empty and end with its tool's "complete" footer.
 * backup-bot-two lists no sizes, and abra and restic call an empty pre-hook dump a success (reference/abra.md).
 */
export async function readDumpBack(
  runner: ProcessRunner,
  abra: AbraClient,
  where: { domain: string; id: string },
  file: string,
): Promise<DumpReadback> {
  const { domain, id } = where;
  const dir = await mkdtemp(path.join(tmpdir(), 'coopctl-snapshot-'));
  try {
    await abra.downloadSnapshotPath(domain, id, file, dir);
    const archives = (await readdir(dir)).filter((f) => /\.(tar\.gz|tgz)$/.test(f));
    if (archives.length !== 1) {
      throw new BackupError('corrupt-dump', `abra app backup download of ${file} left ${archives.length} archives`, {
        hints: [`abra printed no error, yet its working directory held: ${archives.join(', ') || 'none'}`],
      });
    }
    const into = path.join(dir, 'x');
    await mkdir(into);
    const untar = await runner.run('tar', ['-xzf', path.join(dir, archives[0]), '-C', into], {
      mutates: false,
      reject: false,
    });
    if (untar.exitCode !== 0) {
      throw new BackupError('corrupt-dump', `snapshot ${id} of ${domain}: its archive of ${file} does not extract`, {
        hints: [untar.stderr.trim().split('\n')[0] ?? ''],
      });
    }
    const found = await findFile(into, path.posix.basename(file));
    if (!found) {
      throw new BackupError('corrupt-dump', `snapshot ${id} of ${domain}: the archive abra downloaded lacks ${file}`);
    }
    const { bytes, tail } = await measure(found);
    if (bytes === 0) {
      throw new BackupError(
        'corrupt-dump',
        `snapshot ${id} of ${domain} is not a backup: ${file} is empty ` +
          '(the pre-hook dumped nothing, though abra reported success)',
        { hints: ['abra app backup does not work for this app: configure `database:` for it so coopctl dumps it'] },
      );
    }
    if (!COMPLETE_FOOTERS.some((re) => re.test(tail))) {
      throw new BackupError(
        'corrupt-dump',
        `snapshot ${id} of ${domain} is not a backup: ${file} (${bytes} bytes) ends before its dump tool finished ` +
          '(no "dump complete" footer: a pre-hook cut off, or a dump format coopctl cannot read back)',
        { hints: ['configure `database:` for the app in coopctl.yaml so coopctl dumps and checks it itself'] },
      );
    }
    return { path: file, bytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The extracted file named `name` (tar keeps the snapshot's path under its own prefix, which is not known). */
async function findFile(dir: string, name: string): Promise<string | undefined> {
  for (const entry of await readdir(dir, { recursive: true })) {
    const full = path.join(dir, entry);
    if (path.basename(entry) === name && (await stat(full)).isFile()) return full;
  }
  return undefined;
}
