import path from 'node:path/posix';

/**
 * Command builders for a service run with Docker Compose on its host, or as
 * a Docker Swarm stack (Kamal-style: pure functions returning argument
 * arrays; running them is someone else's job).
 */
export function compose(dir: string, ...args: string[]): string[] {
  return ['docker', 'compose', '-f', path.join(dir, 'docker-compose.yml'), '--project-directory', dir, ...args];
}

/** argv run inside a compose service (`exec -T`: no TTY, binary-safe streams). */
export function composeExec(dir: string, service: string, argv: readonly string[]): string[] {
  return compose(dir, 'exec', '-T', service, ...argv);
}

/**
 * A swarm service's container id is only known on the server, at the moment: this fixed script finds the running
 * task of the service named by $1 and runs the rest of its arguments in it (`-i`: stdin attached, binary-safe).
 */
const SWARM_EXEC =
  'c=$(docker ps -q --filter "label=com.docker.swarm.service.name=$1" --filter status=running | head -n 1); ' +
  'if [ -z "$c" ]; then echo "no running container of swarm service $1" >&2; exit 125; fi; ' +
  'shift; exec docker exec -i "$c" "$@"';

/** argv run inside the running container of a swarm service (`<stack>_<service>`). */
function swarmExec(service: string, argv: readonly string[]): string[] {
  return ['bash', '-c', SWARM_EXEC, 'swarm-exec', service, ...argv];
}

/** Where a PostgreSQL database runs: in a compose service of a project, in a swarm service, or on the host. */
interface DbLocation {
  /** Compose service running PostgreSQL; unset: the tools run on the host. */
  container?: string;
  /** The compose project directory; required with container. */
  composeDir?: string;
  /** The swarm service running PostgreSQL (`<stack>_db`), instead of a compose service. */
  swarmService?: string;
  /** A plain container by name (a restore test's throw-away server), instead of either. */
  dockerContainer?: string;
}

/** A PostgreSQL client tool where the database runs: in its container, or on the host. */
export function dbCommand(db: DbLocation, argv: readonly string[]): string[] {
  if (db.dockerContainer) return ['docker', 'exec', '-i', db.dockerContainer, ...argv];
  if (db.swarmService) return swarmExec(db.swarmService, argv);
  return db.container ? composeExec(db.composeDir!, db.container, argv) : [...argv];
}

export function psqlQuery(db: DbLocation & { user: string; name: string }, sql: string): string[] {
  return dbCommand(db, ['psql', '-X', '-v', 'ON_ERROR_STOP=1', '-At', '-U', db.user, '-d', db.name, '-c', sql]);
}
