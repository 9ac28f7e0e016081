import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { worldScript } from '../../world/paths.js';
import { dockerSocketPath } from '../dockerDaemon.js';

/**
 * How a sandbox host's stand-ins find their world. `R/standin.json` is
 * written once by prepareMastodonHost; everything else is derived from R.
 */
// source: none needed — sandbox plumbing (where a host's stand-ins keep their state); no production behaviour
export interface StandinConfig {
  host: string;
  domain: string;
  /** The node binary the stand-ins run with (the detached web server too). */
  node: string;
  web: { address: string; port: number };
  streaming?: { address: string; port: number };
  postgres: { port: number; database: string };
  /** Image repository (ghcr.io/mastodon/mastodon) → fixture git repository it is "built" from. */
  registry: Record<string, string>;
  mastodon: { dir: string; systemdDir: string; service: string };
}

export const STANDIN_FILE = 'standin.json';

export function standinPaths(root: string) {
  return {
    root,
    config: path.join(root, STANDIN_FILE),
    faults: path.join(root, 'faults.json'),
    images: path.join(root, 'images'),
    pg: path.join(root, 'pg'),
    log: path.join(root, 'log'),
    /** Like /run: cleared by a "reboot" (stopMastodonHost). */
    run: path.join(root, 'run'),
    containers: path.join(root, 'var', 'lib', 'docker-standin', 'containers.json'),
    /** Stands for /var/run/docker.sock: whoever cannot open it cannot use docker. */
    dockerSocket: dockerSocketPath(root),
    webPid: path.join(root, 'run', 'mastodon-web.pid'),
    webLaunch: path.join(root, 'run', 'mastodon-web.json'),
    systemdRuntime: path.join(root, 'run', 'systemd', 'units.json'),
  };
}

export function loadStandinConfig(root: string): StandinConfig {
  const file = standinPaths(root).config;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StandinConfig;
  } catch (err) {
    throw new Error(`sandbox host config ${file} cannot be read: ${(err as Error).message}`);
  }
}

/** COOPCTL_SANDBOX_ROOT, else the nearest ancestor of one of `from` holding standin.json. */
export function findSandboxRoot(from: string[]): string {
  const env = process.env.COOPCTL_SANDBOX_ROOT;
  if (env) return path.resolve(env);
  for (const start of from) {
    for (let d = path.resolve(start); ; d = path.dirname(d)) {
      if (existsSync(path.join(d, STANDIN_FILE))) return d;
      if (d === path.dirname(d)) break;
    }
  }
  throw new Error('not a sandbox host: COOPCTL_SANDBOX_ROOT is unset and no standin.json above the working directory');
}

export type Fault =
  | 'migration-fails'
  | 'post-migration-fails'
  | 'migrations-slow'
  | 'health-fails'
  | 'dump-slow'
  | 'federation-fails';

/** Faults are read at every invocation/request, so `sandbox fault` takes effect at once. */
export function faultActive(root: string, fault: Fault): boolean {
  try {
    const faults = JSON.parse(readFileSync(standinPaths(root).faults, 'utf8')) as Record<string, unknown>;
    return faults[fault] === true;
  } catch {
    return false;
  }
}

export function readJson<T>(file: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Host paths shown the way the host sees them (/etc/systemd/...), not with the sandbox prefix. */
export function hostPath(root: string, p: string): string {
  const rel = path.relative(root, p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : `/${rel}`;
}

/** `<repo>/build/world/test/doubles/<name>.js`, whether the caller runs from build/world/ or (under tests) from test/. */
export function standinScript(name: string): string {
  return worldScript(`doubles/${name}.js`);
}

/**
 * A session PATH of R/bin plus the user directories lacks the sbin ones,
 * where `runuser` (PostgreSQL as its owner, when root) lives.
 */
export function ensureSystemPath(): void {
  const parts = (process.env.PATH ?? '').split(':').filter(Boolean);
  for (const dir of ['/usr/sbin', '/sbin']) if (!parts.includes(dir)) parts.push(dir);
  process.env.PATH = parts.join(':');
}
