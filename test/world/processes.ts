import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

/** Alive and not a zombie waiting to be reaped (init may take a moment to reap detached children). */
export function isRunning(pid: number): boolean {
  // kill(0 or negative) addresses process groups, not a process: never "running".
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

export function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim().split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM, wait, then SIGKILL; resolves when the process is gone. */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  if (!isRunning(pid)) return;
  try {
    process.kill(pid, 'SIGCONT');
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isRunning(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
    while (isRunning(pid)) await new Promise((r) => setTimeout(r, 20));
  }
}

export async function stopPidFile(pidFile: string, graceMs?: number): Promise<void> {
  const pid = readPid(pidFile);
  if (pid !== undefined) await stopPid(pid, graceMs);
  rmSync(pidFile, { force: true });
}

/** Starts a long-running process on its own (it outlives coopctl): output appended to `log`, pid to `pidFile`. */
export function spawnDetached(
  argv: string[],
  files: { log: string; pidFile: string },
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  const log = openSync(files.log, 'a');
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log], env });
  closeSync(log);
  child.unref();
  writeFileSync(files.pidFile, `${child.pid}\n`);
  return child;
}
