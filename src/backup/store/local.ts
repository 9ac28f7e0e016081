import { pidAlive } from '../../kernel/process.js';
import { constants, createReadStream, createWriteStream, type Dirent } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PRIVATE_DIR, PRIVATE_FILE } from '../../kernel/files.js';
import { formatBytes } from '../../kernel/validate.js';
import { BackupError } from '../errors.js';
import { assertKey, assertPrefix } from './keys.js';
import type { BackupStore, UnfinishedWrite } from './types.js';

const PARTIAL = '.partial';
/** `<object>.<pid>.partial`: the writer's pid tells a write in progress from one a killed run left. */
const PARTIAL_NAME = /^(.*?)(?:\.(\d+))?\.partial$/;

function partialFile(file: string): string {
  return `${file}.${process.pid}${PARTIAL}`;
}

/** A write goes on while its writer lives and writes; a pid long since reused by another process does not. */
const WRITING_WITHIN_MS = 10 * 60_000;

function writing(pid: number, writtenAtMs: number): boolean {
  return Date.now() - writtenAtMs <= WRITING_WITHIN_MS && pidAlive(pid);
}

/**
 * A directory. Objects are written as `<key>.<pid>.partial`, fsynced, then renamed
 * into place, so a crash or a full disk never leaves a complete-looking file.
 */
export class LocalStore implements BackupStore {
  readonly description: string;

  constructor(readonly root: string) {
    this.description = `local ${root}`;
  }

  private file(key: string): string {
    return path.join(this.root, ...assertKey(key).split('/'));
  }

  async check(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true, mode: PRIVATE_DIR });
      await access(this.root, constants.W_OK);
    } catch (err) {
      throw new BackupError(
        'store-unreachable',
        `backup store ${this.description} ` +
          `is not writable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async put(key: string, body: Readable): Promise<{ size: number }> {
    const file = this.file(key);
    const partial = partialFile(file);
    let written = 0;
    try {
      await mkdir(path.dirname(file), { recursive: true, mode: PRIVATE_DIR });
      const out = createWriteStream(partial, { flush: true, mode: PRIVATE_FILE });
      await pipeline(body, out);
      written = out.bytesWritten;
      await rename(partial, file);
      await syncDir(path.dirname(file));
      return { size: (await stat(file)).size };
    } catch (err) {
      body.destroy();
      await rm(partial, { force: true });
      throw this.writeError(err, key, written);
    }
  }

  async putText(key: string, text: string): Promise<void> {
    const file = this.file(key);
    const partial = partialFile(file);
    try {
      await mkdir(path.dirname(file), { recursive: true, mode: PRIVATE_DIR });
      const fh = await open(partial, 'w', PRIVATE_FILE);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(partial, file);
      await syncDir(path.dirname(file));
    } catch (err) {
      await rm(partial, { force: true });
      throw this.writeError(err, key, 0);
    }
  }

  private writeError(err: unknown, key: string, written: number): Error {
    if (err instanceof BackupError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return new BackupError(
        'disk-full',
        `backup store ${this.description} is full: no space left writing ${key}` +
          `${written ? ` (after ${formatBytes(written)})` : ''}; the partial file was removed`,
        {
          hints: ['free space there or use another store (backup.store)'],
          cause: err,
        },
      );
    }
    if (code && /^E[A-Z]+$/.test(code) && (err as NodeJS.ErrnoException).syscall) {
      return new BackupError('upload-failed', `cannot write ${key} to ${this.description}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return err as Error;
  }

  async get(key: string): Promise<Readable> {
    const file = this.file(key);
    try {
      await access(file, constants.R_OK);
    } catch (err) {
      throw this.readError(err, key);
    }
    return createReadStream(file, { highWaterMark: 256 * 1024 });
  }

  async getText(key: string): Promise<string> {
    const file = this.file(key);
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw this.readError(err, key);
    }
  }

  private readError(err: unknown, key: string): BackupError {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return new BackupError('missing-object', `${key} is missing from ${this.description}`, { cause: err });
    return new BackupError(
      'store-unreachable',
      `cannot read ${key} from ${this.description}: ${code ?? (err as Error).message}`,
      { cause: err },
    );
  }

  /** Every file under prefix, complete or not. */
  private async files(prefix: string): Promise<Dirent[]> {
    const base = path.join(this.root, ...assertPrefix(prefix).split('/').filter(Boolean));
    try {
      return (await readdir(base, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new BackupError('store-unreachable', `cannot list ${this.description}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private keyOf(e: Dirent): string {
    return path
      .relative(this.root, path.join(e.parentPath ?? e.path, e.name))
      .split(path.sep)
      .join('/');
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.files(prefix)).filter((e) => !e.name.endsWith(PARTIAL)).map((e) => this.keyOf(e));
  }

  async unfinished(prefix: string): Promise<UnfinishedWrite[]> {
    const found: UnfinishedWrite[] = [];
    for (const e of (await this.files(prefix)).filter((x) => x.name.endsWith(PARTIAL))) {
      const st = await stat(path.join(e.parentPath ?? e.path, e.name)).catch(() => undefined);
      if (!st) continue; // completed or removed meanwhile
      const [, key, pid] = PARTIAL_NAME.exec(this.keyOf(e))!;
      const started = st.birthtimeMs > 0 ? st.birthtime : st.ctime;
      found.push({
        key,
        startedAt: started.toISOString(),
        writtenAt: st.mtime.toISOString(),
        size: st.size,
        ...(pid && { writer: { name: `pid ${pid} on this machine`, running: writing(Number(pid), st.mtimeMs) } }),
        file: e.name,
      });
    }
    return found;
  }

  async discard(w: UnfinishedWrite): Promise<void> {
    const dir = path.dirname(this.file(w.key));
    if (!w.file || !PARTIAL_NAME.test(w.file) || w.file.includes('/')) throw new Error('internal: not a partial file');
    await rm(path.join(dir, w.file), { force: true });
    await this.removeEmptied([dir]);
  }

  async delete(keys: readonly string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const file = this.file(key);
      await rm(file, { force: true });
      dirs.add(path.dirname(file));
    }
    await this.removeEmptied(dirs);
  }

  /** Removes directories deletions emptied, up to (not including) the root. */
  private async removeEmptied(dirs: Iterable<string>): Promise<void> {
    for (const start of dirs) {
      for (let d = start; d.startsWith(this.root + path.sep); d = path.dirname(d)) {
        try {
          await rmdir(d);
        } catch {
          break;
        }
      }
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
