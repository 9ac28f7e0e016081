import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { isRunning, readPid, stopPid } from '../../world/processes.js';
import { standinPaths, standinScript, writeJsonAtomic, type StandinConfig } from './config.js';

/**
 * The one detached process standing in for the web and streaming
 * containers. It is told what to run through R/run/mastodon-web.json and
 * writes its pid file once it listens.
 *
 * source: none needed — process plumbing; what the processes answer is cited in ../mastodonWeb.ts.
 */
export interface WebLaunch {
  /** Image of the web service and the tree it was pulled into. */
  image: string;
  imageDir: string;
  streamingImage?: string;
  /** The web service's environment (env_file + environment). */
  env: Record<string, string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function webPid(root: string): number | undefined {
  const pid = readPid(standinPaths(root).webPid);
  return pid !== undefined && isRunning(pid) ? pid : undefined;
}

export async function stopWeb(root: string): Promise<void> {
  const pidFile = standinPaths(root).webPid;
  const pid = webPid(root);
  if (pid !== undefined) await stopPid(pid);
  rmSync(pidFile, { force: true });
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}

/** Starts the web stand-in and waits until it listens; throws with its log tail if it dies. */
export async function startWeb(root: string, cfg: StandinConfig, launch: WebLaunch): Promise<number> {
  await stopWeb(root);
  const p = standinPaths(root);
  writeJsonAtomic(p.webLaunch, launch);
  mkdirSync(p.log, { recursive: true });
  const logFile = `${p.log}/mastodon-web.log`;
  const fd = openSync(logFile, 'a');
  const child = spawn(cfg.node, [standinScript('mastodonWeb'), root], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, COOPCTL_SANDBOX_ROOT: root },
  });
  closeSync(fd);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${cfg.node}`);
  let exited = false;
  child.on('exit', () => (exited = true));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (readPid(p.webPid) === pid) return pid;
    if (exited) break;
    await sleep(25);
  }
  if (!exited) process.kill(pid, 'SIGKILL');
  throw new Error(`web container exited before listening:\n${logTail(logFile)}`);
}
