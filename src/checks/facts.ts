import { Memo } from '../kernel/memo.js';
import { ToolOutputError } from '../kernel/errors.js';
import { psqlQuery } from '../remote/compose.js';
import type { TargetFacts } from '../targets/check.js';
import type { ServiceDatabase, Target } from '../targets/target.js';
import type { RunContext } from '../targets/runContext.js';
import { mariadbSize } from '../backup/mariadbHost.js';
import { volumeSizes, type VolumeSize } from '../backup/volumes.js';

/**
 * Facts about a target, read once per run and shared by the checks and the
 * plan that need them (several want the database size, for instance).
 */
export class HostFacts implements TargetFacts {
  private readonly memo = new Memo();

  constructor(
    readonly ws: RunContext,
    readonly target: Target,
  ) {}

  private once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.memo.once(key, fn);
  }

  private db(): ServiceDatabase {
    const t = this.target;
    if (!t.database)
      throw new ToolOutputError(`${t.service}: coopctl does not know its database (profile ${t.profile.id})`);
    return t.database;
  }

  private async query(sql: string): Promise<string> {
    const r = await this.target.remote.exec(psqlQuery(this.db(), sql), { mutates: false, timeoutMs: 60_000 });
    return r.stdout.trim();
  }

  dbSizeBytes(): Promise<number> {
    return this.once('dbSize', async () => {
      if (this.db().engine === 'mariadb') return mariadbSize(this.target.remote, this.db());
      const out = await this.query('select pg_database_size(current_database())');
      const n = Number(out);
      if (!Number.isFinite(n)) {
        throw new ToolOutputError(`${this.target.host.name}: database size is not a number: ${out.slice(0, 80)}`);
      }
      return n;
    });
  }

  /** The bytes of each of the target's `volumes:` on the host (none: an empty list). */
  volumeBytes(): Promise<VolumeSize[]> {
    return this.once('volumes', () => volumeSizes(this.target.remote, this.target.volumes));
  }

  postgresVersion(): Promise<string> {
    return this.once('pg', async () => {
      const out = await this.query('show server_version');
      const m = /^(\d+(?:\.\d+)?)/.exec(out);
      if (!m) throw new ToolOutputError(`${this.target.host.name}: unexpected PostgreSQL version: ${out.slice(0, 80)}`);
      return m[1];
    });
  }

  /** The version the running service reports, as its profile reads it. */
  runningVersion(): Promise<string> {
    return this.once('version', () => this.target.profile.runningVersion(this.ws, this.target));
  }
}
