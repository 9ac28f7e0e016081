import path from 'node:path/posix';
import { parse } from 'yaml';
import { RemoteError, ToolOutputError } from '../../kernel/errors.js';
import { composeExec, psqlQuery } from '../../remote/compose.js';
import type { RemoteHost } from '../../remote/ssh.js';
import type { Health, SchemaMark } from '../../targets/profile.js';
import type { Target } from '../../targets/target.js';
import { healthOf } from './config.js';
import { describeAnswer, type LocalAnswer, localEndpoints, localGet } from './local.js';

/** The version in an instance API answer; throws naming where it came from. */
export function versionOf(res: LocalAnswer, where: string): string {
  if (res.status === 0) throw new RemoteError(`instance API did not answer (${where}): ${res.body}`);
  if (res.status !== 200) throw new RemoteError(`instance API answered ${describeAnswer(res)} (${where})`);
  let version: unknown;
  try {
    version = (JSON.parse(res.body) as { version?: unknown }).version;
  } catch {
    throw new ToolOutputError(`${where}: instance API did not return JSON`);
  }
  if (typeof version !== 'string') throw new ToolOutputError(`${where}: instance API has no version`);
  return version;
}

/** The version the web process reports, asked on the host (never through the caching proxy). */
export async function instanceVersion(t: Target): Promise<string> {
  const url = `${localEndpoints(t).web}/api/v2/instance`;
  const [res] = await localGet(t, [url], healthOf(t).requestTimeout);
  return versionOf(res, `${url} on ${t.host.name}`);
}

function probe(r: LocalAnswer, url: string): Health {
  const ok = r.status === 200 && r.body.trim() === 'OK';
  const error = ok ? undefined : r.status ? `${url} answered ${describeAnswer(r)}` : `${url}: ${r.body}`;
  return { healthy: ok, latencyMs: r.status ? Math.round(r.ms) : null, error };
}

/** /health of the web process and the streaming server's health, asked on the host. */
export async function mastodonHealth(t: Target): Promise<Health> {
  const { web, streaming } = localEndpoints(t);
  const urls = [`${web}/health`, `${streaming}/api/v1/streaming/health`];
  const [w, s] = (await localGet(t, urls, healthOf(t).requestTimeout)).map((r, i) => probe(r, urls[i]));
  return { healthy: w.healthy && s.healthy, latencyMs: w.latencyMs, error: w.error ?? s.error };
}

/** The version the host's deployment names: the web service's image tag in the compose file. */
/** The web image's tag in the compose file on the host: what its deployment runs, even while the app is down. */
export async function deployedVersion(t: Target): Promise<string> {
  const { file, services } = await readCompose(t);
  const image = services.web?.image;
  // a patched build's tag is v<version>-p<digest12> (see src/config/patches.ts)
  const tag = image && /:v?([^:/@]+?)(?:-p[0-9a-f]{12})?$/.exec(image)?.[1];
  if (!tag) throw new ToolOutputError(`${t.host.name}: ${file} names no image for the web service`);
  return tag;
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
  image?: string;
  depends_on?: string[] | Record<string, unknown>;
  env_file?: string | string[];
}

/** The compose file the playbook wrote on the host, parsed. */
async function readCompose(t: Target): Promise<{ file: string; services: Record<string, ComposeService> }> {
  const file = path.join(t.paths.dataDir, 'docker-compose.yml');
  const r = await t.remote.exec(['cat', file], { mutates: false, reject: false, timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new RemoteError(`${t.host.name}: cannot read ${file}: ${r.stderr.trim()}`);
  try {
    const doc = parse(r.stdout) as { services?: Record<string, ComposeService> } | null;
    return { file, services: doc?.services ?? {} };
  } catch (err) {
    throw new ToolOutputError(`${t.host.name}:${file} is not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * The compose services that connect to the database, read from the compose file on the host: those that
 * depend on the database service or read .env.production (web, streaming, every sidekiq process).
 */
export async function composeDatabaseClients(t: Target): Promise<string[]> {
  const { file, services } = await readCompose(t);
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
