import { parse } from 'yaml';
import { RemoteError, ToolOutputError } from '../../kernel/errors.js';
import { httpGet, joinUrl } from '../../kernel/http.js';
import { composeExec, psqlQuery } from '../../remote/compose.js';
import type { RemoteHost } from '../../remote/ssh.js';
import type { Health, SchemaMark } from '../../targets/profile.js';
import type { Target } from '../../targets/target.js';
import { healthOf } from './config.js';

/** The version the instance API reports. */
export async function instanceVersion(t: Target): Promise<string> {
  const h = healthOf(t);
  const url = joinUrl(h.url, '/api/v2/instance');
  let res;
  try {
    res = await httpGet(url, h.requestTimeout);
  } catch (err) {
    throw new RemoteError(`instance API did not answer: ${(err as Error).message}`);
  }
  if (res.status !== 200) throw new RemoteError(`instance API answered HTTP ${res.status} (${url})`);
  let version: unknown;
  try {
    version = (JSON.parse(res.body) as { version?: unknown }).version;
  } catch {
    throw new ToolOutputError(`${url}: instance API did not return JSON`);
  }
  if (typeof version !== 'string') throw new ToolOutputError(`${url}: instance API has no version`);
  return version;
}

async function probe(url: string, timeoutMs: number): Promise<Health> {
  try {
    const r = await httpGet(url, timeoutMs);
    const ok = r.status === 200 && r.body.trim() === 'OK';
    return { healthy: ok, latencyMs: Math.round(r.ms), error: ok ? undefined : `${url} answered HTTP ${r.status}` };
  } catch (err) {
    return { healthy: false, latencyMs: null, error: (err as Error).message };
  }
}

/** /health and the streaming server's health. */
export async function mastodonHealth(t: Target): Promise<Health> {
  const h = healthOf(t);
  const [web, streaming] = await Promise.all([
    probe(joinUrl(h.url, '/health'), h.requestTimeout),
    probe(joinUrl(h.url, '/api/v1/streaming/health'), h.requestTimeout),
  ]);
  return { healthy: web.healthy && streaming.healthy, latencyMs: web.latencyMs, error: web.error ?? streaming.error };
}

/** The Redis server version of the compose project's `redis` service, if it answers. */
export async function redisVersion(t: Target): Promise<string | undefined> {
  const r = await t.remote.exec(composeExec(t.paths.dataDir, 'redis', ['redis-server', '--version']), {
    mutates: false,
    reject: false,
    timeoutMs: 30_000,
  });
  return /v=(\d+\.\d+(?:\.\d+)?)/.exec(r.stdout)?.[1];
}

interface ComposeService {
  depends_on?: string[] | Record<string, unknown>;
  env_file?: string | string[];
}

/**
 * The compose services that connect to the database, read from the compose file on the host: those that
 * depend on the database service or read .env.production (web, streaming, every sidekiq process).
 */
export async function composeDatabaseClients(t: Target): Promise<string[]> {
  const file = `${t.paths.dataDir}/docker-compose.yml`;
  const r = await t.remote.exec(['cat', file], { mutates: false, timeoutMs: 30_000 });
  let services: Record<string, ComposeService>;
  try {
    services = (parse(r.stdout) as { services?: Record<string, ComposeService> } | null)?.services ?? {};
  } catch (err) {
    throw new ToolOutputError(`${t.host.name}:${file} is not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const db = t.database?.container ?? 'db';
  const list = (v: string | string[] | Record<string, unknown> | undefined) =>
    v === undefined ? [] : typeof v === 'string' ? [v] : Array.isArray(v) ? v : Object.keys(v);
  const clients = Object.entries(services)
    .filter(
      ([name, s]) => name !== db && (list(s.depends_on).includes(db) || list(s.env_file).includes('.env.production')),
    )
    .map(([name]) => name);
  if (clients.length === 0) throw new ToolOutputError(`${t.host.name}:${file} names no service that uses the database`);
  return clients;
}

/** Where the schema stands: how many Rails migrations ran, and the newest. */
export async function readSchemaMark(remote: RemoteHost, t: Target): Promise<SchemaMark> {
  if (!t.database) throw new ToolOutputError(`${t.service}: no database configured`);
  const sql = "select count(*) || ' ' || coalesce(max(version), '') from schema_migrations";
  const r = await remote.exec(psqlQuery(t.database, sql), { mutates: false, timeoutMs: 60_000 });
  const [count, newest = ''] = r.stdout.trim().split(' ');
  return { count: Number(count), newest };
}
