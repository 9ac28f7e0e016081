import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { InterruptedError } from '../../kernel/errors.js';
import { PRIVATE_FILE } from '../../kernel/files.js';
import { pidAlive } from '../../kernel/process.js';

/**
 * abra checks a recipe out in ONE shared working tree per recipe, then deploys what is checked out: two abra
 * operations on apps of the same recipe at once deploy each other's trees (reference/abra.md). Every abra operation
 * coopctl runs that checks a recipe out holds this lock: a file next to the checkout (outside its git tree), made with
 * O_EXCL. A holder that died on this machine leaves a stale file, taken over; another waits.
 */
interface Holder {
  pid: number;
  host: string;
  what: string;
  since: string;
}

function lockFile(abraDir: string, recipe: string): string {
  return path.join(abraDir, 'recipes', `.${recipe}.coopctl-lock`);
}

function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

function tryTake(file: string, what: string): Holder | undefined {
  try {
    const fd = openSync(file, 'wx', PRIVATE_FILE);
    const me: Holder = { pid: process.pid, host: hostname(), what, since: new Date().toISOString() };
    writeSync(fd, JSON.stringify(me));
    closeSync(fd);
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = readHolder(file);
  // A half-written file is a holder between open and write: wait for it, as for any other.
  if (holder && holder.host === hostname() && !pidAlive(holder.pid)) {
    rmSync(file, { force: true });
    return tryTake(file, what);
  }
  return holder ?? { pid: 0, host: '?', what: 'an abra operation', since: '?' };
}

interface CheckoutLockOptions {
  abraDir: string;
  recipe: string;
  /** What this operation is, for whoever waits ("abra app upgrade bonfire.social.coop"). */
  what: string;
  signal?: AbortSignal;
  /** Told once when this waits for another operation. */
  onWait?: (line: string) => void;
  pollMs?: number;
}

/** Runs `fn` holding the recipe checkout's lock; waits (as long as it takes, or until `signal`) for another holder. */
export async function withRecipeCheckout<T>(o: CheckoutLockOptions, fn: () => Promise<T>): Promise<T> {
  const file = lockFile(o.abraDir, o.recipe);
  let told = false;
  for (;;) {
    const holder = tryTake(file, o.what);
    if (!holder) break;
    if (!told) {
      o.onWait?.(`waiting for ${holder.what} (pid ${holder.pid} on ${holder.host}) to leave recipe ${o.recipe}`);
      told = true;
    }
    if (o.signal?.aborted) throw new InterruptedError(`interrupted while waiting for recipe ${o.recipe}`);
    await new Promise((r) => setTimeout(r, o.pollMs ?? 250));
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
