import { RemoteError, ToolOutputError } from '../kernel/errors.js';
import { httpGet, joinUrl } from '../kernel/http.js';
import type { Target } from '../targets/workspace.js';
import type { DbTarget } from '../backup/commands.js';
import { targetDb } from '../targets/backups.js';
import { psqlQuery, redisVersion } from '../services/mastodon/compose.js';

/**
 * Facts about a Mastodon host, read once per run and shared by the checks
 * that need them (several checks want the database size, for instance).
 */
export class HostFacts {
  private memo = new Map<string, Promise<unknown>>();

  constructor(readonly target: Target) {}

  private once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      this.memo.set(key, p);
    }
    return p;
  }

  db(): DbTarget {
    const t = this.target;
    if (t.driver !== 'ansible') throw new Error('internal: database facts are for Ansible-managed services');
    return targetDb(t);
  }

  private async query(sql: string): Promise<string> {
    const r = await this.target.remote.exec(psqlQuery(this.db(), sql), { mutates: false, timeoutMs: 60_000 });
    return r.stdout.trim();
  }

  dbSizeBytes(): Promise<number> {
    return this.once('dbSize', async () => {
      const out = await this.query('select pg_database_size(current_database())');
      const n = Number(out);
      if (!Number.isFinite(n)) throw new ToolOutputError(`${this.target.host.name}: database size is not a number: ${out.slice(0, 80)}`);
      return n;
    });
  }

  postgresVersion(): Promise<string> {
    return this.once('pg', async () => {
      const out = await this.query('show server_version');
      const m = /^(\d+(?:\.\d+)?)/.exec(out);
      if (!m) throw new ToolOutputError(`${this.target.host.name}: unexpected PostgreSQL version: ${out.slice(0, 80)}`);
      return m[1];
    });
  }

  redisVersion(): Promise<string | undefined> {
    return this.once('redis', async () => {
      const r = await this.target.remote.exec(redisVersion(this.target.paths.dataDir), { mutates: false, reject: false, timeoutMs: 30_000 });
      return /v=(\d+\.\d+(?:\.\d+)?)/.exec(r.stdout)?.[1];
    });
  }

  /** The version the running service reports (Mastodon: instance API). */
  runningVersion(): Promise<string> {
    return this.once('version', async () => {
      const t = this.target;
      if (t.driver !== 'ansible') throw new Error('internal: runningVersion is for Mastodon');
      const url = joinUrl(t.envConfig.health.url, '/api/v2/instance');
      let res;
      try {
        res = await httpGet(url, t.envConfig.health.requestTimeout);
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
    });
  }
}
