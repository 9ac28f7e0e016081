import path from 'node:path/posix';

/**
 * Command builders for a Mastodon host run with Docker Compose (Kamal-style:
 * pure functions returning argument arrays; running them is someone else's job).
 */
export function compose(dir: string, ...args: string[]): string[] {
  return ['docker', 'compose', '-f', path.join(dir, 'docker-compose.yml'), '--project-directory', dir, ...args];
}

/** argv run inside a compose service (`exec -T`: no TTY, binary-safe streams). */
export function composeExec(dir: string, service: string, argv: readonly string[]): string[] {
  return compose(dir, 'exec', '-T', service, ...argv);
}

export interface DbAccess {
  dir: string;
  /** compose service running PostgreSQL; undefined = the host's own PostgreSQL. */
  container?: string;
  user: string;
  name: string;
}

/** A PostgreSQL client command (psql, pg_dump, ...) where the database runs. */
export function dbCommand(db: DbAccess, argv: readonly string[]): string[] {
  return db.container ? composeExec(db.dir, db.container, argv) : [...argv];
}

export function psqlQuery(db: DbAccess, sql: string): string[] {
  return dbCommand(db, ['psql', '-X', '-v', 'ON_ERROR_STOP=1', '-At', '-U', db.user, '-d', db.name, '-c', sql]);
}

export function redisVersion(dir: string): string[] {
  return composeExec(dir, 'redis', ['redis-server', '--version']);
}
