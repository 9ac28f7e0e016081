import path from 'node:path/posix';
import type { DbTarget } from '../../backup/commands.js';

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

/** A PostgreSQL client tool where the database runs: in its container, or on the host. */
export function dbCommand(db: DbTarget, argv: readonly string[]): string[] {
  return db.container ? composeExec(db.composeDir!, db.container, argv) : [...argv];
}

export function psqlQuery(db: DbTarget, sql: string): string[] {
  return dbCommand(db, ['psql', '-X', '-v', 'ON_ERROR_STOP=1', '-At', '-U', db.user, '-d', db.name, '-c', sql]);
}

export function redisVersion(dir: string): string[] {
  return composeExec(dir, 'redis', ['redis-server', '--version']);
}
