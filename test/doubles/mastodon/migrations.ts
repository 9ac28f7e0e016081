import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { clusterAt, pgEnv, psql, type PgCluster } from '../../world/postgres.js';
import { standinPaths, type StandinConfig } from './config.js';

/**
 * `rails db:migrate` for an image tree: db/migrate (pre-deployment) and
 * db/post_migrate (post-deployment, skipped with
 * SKIP_POST_DEPLOYMENT_MIGRATIONS=true), each migration in its own
 * transaction together with its schema_migrations row.
 */
export interface Migration {
  version: string;
  className: string;
  file: string;
  postDeployment: boolean;
}

export function hostCluster(root: string, cfg: StandinConfig): PgCluster {
  return clusterAt(standinPaths(root).pg, cfg.postgres.port);
}

function camelize(name: string): string {
  return name
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

export function listMigrations(imageDir: string, includePostDeployment: boolean): Migration[] {
  const dirs: [string, boolean][] = [['db/migrate', false]];
  if (includePostDeployment) dirs.push(['db/post_migrate', true]);
  const found: Migration[] = [];
  for (const [rel, post] of dirs) {
    const dir = path.join(imageDir, rel);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      const m = /^(\d{14})_([a-z0-9_]+)\.sql$/.exec(f);
      if (m) found.push({ version: m[1], className: camelize(m[2]), file: path.join(dir, f), postDeployment: post });
    }
  }
  return found.sort((a, b) => a.version.localeCompare(b.version));
}

export function appliedVersions(cluster: PgCluster, db: string): Set<string> {
  const exists = psql(cluster, "SELECT to_regclass('public.schema_migrations') IS NOT NULL", db).trim() === 't';
  if (!exists) return new Set();
  return new Set(psql(cluster, 'SELECT version FROM schema_migrations', db).split('\n').filter(Boolean));
}

// source: rails/rails activerecord/lib/active_record/migration.rb (Migration#announce: `text = "#{version}
// #{name}: #{message}"`, padded with "=" to 75 columns; "migrated (0.0012s)" from say_with_time)
/** Rails' say_with_time banner: `== 20250806104800 CreateQuotes: migrating ====...`. */
function banner(m: Migration, message: string): string {
  const text = `${m.version} ${m.className}: ${message}`;
  return `== ${text} ${'='.repeat(Math.max(0, 75 - text.length))}`;
}

export interface MigrateOptions {
  skipPostDeployment: boolean;
  /** Fault: apply the first pending migration, then fail the next one. */
  failAfterFirst: boolean;
  /** Fault: the first pending post-deployment migration fails (the pre-deployment ones have run). */
  failPostDeployment?: boolean;
  /** Fault: every migration takes this long, as big tables' do (an interrupted deploy leaves one running). */
  secondsEach?: number;
  out: (line: string) => void;
  err: (line: string) => void;
}

// source: rails/rails activerecord/test/cases/migration_test.rb (the migrator's error: "An error has occurred, this
// and all later migrations canceled:"), each migration in its own transaction on PostgreSQL
// (activerecord migration.rb, ddl_transaction); "bin/rails aborted!" and the Tasks: trailer are rake's
function abort(m: Migration, message: string, err: (line: string) => void): number {
  err('bin/rails aborted!');
  err('StandardError: An error has occurred, this and all later migrations canceled: (StandardError)');
  err('');
  err(message);
  err(`/opt/mastodon/${path.relative(path.dirname(path.dirname(path.dirname(m.file))), m.file)}:in 'change'`);
  err('');
  err('Tasks: TOP => db:migrate');
  err('(See full trace by running task with --trace)');
  return 1;
}

/** Returns the exit code `rails db:migrate` would. Prints nothing when nothing is pending. */
export function migrate(cluster: PgCluster, db: string, imageDir: string, opts: MigrateOptions): number {
  const applied = appliedVersions(cluster, db);
  const pending = listMigrations(imageDir, !opts.skipPostDeployment).filter((m) => !applied.has(m.version));
  for (const [i, m] of pending.entries()) {
    opts.out(banner(m, 'migrating'));
    if ((opts.failAfterFirst && (i === 1 || pending.length === 1)) || (opts.failPostDeployment && m.postDeployment)) {
      return abort(m, 'PG::LockNotAvailable: ERROR:  canceling statement due to lock timeout', opts.err);
    }
    const started = process.hrtime.bigint();
    if (opts.secondsEach) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, opts.secondsEach * 1000);
    const sql = `${readFileSync(m.file, 'utf8')}\nINSERT INTO schema_migrations (version) VALUES ('${m.version}');\n`;
    const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-d', db, '-f', '-'], {
      input: sql,
      env: { ...process.env, ...pgEnv(cluster) },
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      const pgError = (r.stderr || r.error?.message || 'unknown error').replace(/^psql:[^:]*:\d+: /gm, '').trim();
      return abort(m, `PG::Error: ${pgError}`, opts.err);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    opts.out(banner(m, `migrated (${seconds.toFixed(4)}s)`));
    opts.out('');
  }
  return 0;
}

export function schemaVersion(cluster: PgCluster, db: string): string {
  const versions = [...appliedVersions(cluster, db)].sort();
  return versions[versions.length - 1] ?? '0';
}
