import path from 'node:path/posix';

/**
 * Command builders for a service run with Docker Compose on its host
 * (Kamal-style: pure functions returning argument arrays; running them is
 * someone else's job).
 */
export function compose(dir: string, ...args: string[]): string[] {
  return ['docker', 'compose', '-f', path.join(dir, 'docker-compose.yml'), '--project-directory', dir, ...args];
}

/** argv run inside a compose service (`exec -T`: no TTY, binary-safe streams). */
export function composeExec(dir: string, service: string, argv: readonly string[]): string[] {
  return compose(dir, 'exec', '-T', service, ...argv);
}

/** Where a PostgreSQL database runs: in a compose service of a project, or on the host itself. */
interface DbLocation {
  /** Compose service running PostgreSQL; unset: the tools run on the host. */
  container?: string;
  /** The compose project directory; required with container. */
  composeDir?: string;
}

/** A PostgreSQL client tool where the database runs: in its container, or on the host. */
export function dbCommand(db: DbLocation, argv: readonly string[]): string[] {
  return db.container ? composeExec(db.composeDir!, db.container, argv) : [...argv];
}

export function psqlQuery(db: DbLocation & { user: string; name: string }, sql: string): string[] {
  return dbCommand(db, ['psql', '-X', '-v', 'ON_ERROR_STOP=1', '-At', '-U', db.user, '-d', db.name, '-c', sql]);
}
