import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pidAlive } from '../kernel/process.js';

/**
 * The automatic locks this machine's coopctl processes hold, by lock id: which process holds it, and when that
 * process started (a pid the system gave to a new process since is not the holder). A lock is judged by its own
 * process only where that process registered it: never by a `user@hostname` another machine may share.
 */
interface Holder {
  pid: number;
  start?: string;
}

function file(lockId: string): string {
  const user = process.getuid?.() ?? os.userInfo().username;
  return path.join(os.tmpdir(), `coopctl-${user}`, 'locks-held', lockId.replace(/[^0-9a-f]/g, ''));
}

/** When a process started, as the kernel counts it (Linux /proc); undefined where that cannot be read. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function registerHeld(lockId: string): void {
  const f = file(lockId);
  try {
    mkdirSync(path.dirname(f), { recursive: true, mode: 0o700 });
    writeFileSync(f, JSON.stringify({ pid: process.pid, start: processStart(process.pid) } satisfies Holder), {
      mode: 0o600,
    });
  } catch {
    // without it, the lock is judged by its heartbeat alone
  }
}

export function unregisterHeld(lockId: string): void {
  rmSync(file(lockId), { force: true });
}

/** The process of this machine that holds lock `lockId`, and whether it lives; undefined: not taken from here. */
export function holderHere(lockId: string): { pid: number; alive: boolean } | undefined {
  let h: Holder;
  try {
    h = JSON.parse(readFileSync(file(lockId), 'utf8')) as Holder;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(h.pid)) return undefined;
  const sameProcess = pidAlive(h.pid) && (h.start === undefined || processStart(h.pid) === h.start);
  return { pid: h.pid, alive: sameProcess };
}
