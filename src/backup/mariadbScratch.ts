import { randomBytes } from 'node:crypto';
import { InputError } from '../kernel/errors.js';
import { formatBytes } from '../kernel/validate.js';
import type { RemoteHost } from '../remote/ssh.js';
import type { DbTarget } from './commands.js';
import { lastLines } from './hostOutput.js';
import { BackupError } from './errors.js';

/**
 * A restore test of a MariaDB backup never runs in a production server: it runs in a throw-away one of the same
 * major.minor, a container started for the test on the restore-test host and removed after it.
 */

/** `10.11.19-MariaDB-0+deb12u1` (the manifest's serverVersion) → `mariadb:10.11`, the image's major.minor tag. */
export function scratchImage(serverVersion: string): string {
  const m = /^(\d+)\.(\d+)\.\d+-MariaDB/.exec(serverVersion);
  if (!m) throw new InputError(`not a MariaDB server version: ${JSON.stringify(serverVersion)}`);
  return `mariadb:${m[1]}.${m[2]}`;
}

// source: MariaDB/mariadb-docker 10.11/docker-entrypoint.sh (docker_verify_minimum_env: one of
// MARIADB_ROOT_PASSWORD[_HASH], MARIADB_ALLOW_EMPTY_ROOT_PASSWORD, MARIADB_RANDOM_ROOT_PASSWORD is required).
// An empty root password is safe here: the container has no network (`--network none`: its loopback only) and
// is reached only with `docker exec` by whoever may run docker on the host.
/** The throw-away server: detached, removed with its anonymous /var/lib/mysql volume when it stops. */
export function scratchServerArgv(name: string, image: string): string[] {
  return [
    'docker',
    'run',
    '-d',
    '--rm',
    '--name',
    name,
    '--network',
    'none',
    '--label',
    'coopctl.restore-test=true',
    '-e',
    'MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1',
    image,
  ];
}

// source: MariaDB/mariadb-docker 10.11/healthcheck.sh (--connect: a TCP connection as the healthcheck user the
// entrypoint creates; --innodb_initialized). The entrypoint's own temporary server (docker_temp_server_start,
// --skip-networking) answers on the socket before the real one: only TCP proves the real one is up.
export function scratchReadyArgv(name: string): string[] {
  return ['docker', 'exec', name, 'healthcheck.sh', '--connect', '--innodb_initialized'];
}

export function scratchRemoveArgv(name: string): string[] {
  return ['docker', 'rm', '-f', '-v', name];
}

/** Free bytes where docker keeps its containers' data on the host. */
const DOCKER_ROOT_FREE = [
  'bash',
  '-c',
  'd=$(docker info --format "{{.DockerRootDir}}") && df -B1 --output=avail -- "$d" | tail -n 1',
];

/**
 * Runs `test` against a throw-away MariaDB server of the backup's major.minor on `host`: first the disk check
 * (room for `headroom` × the database), then the container, ready by its own health check; removed afterwards
 * whatever happened.
 */
export async function inMariaDbScratchServer<T>(
  host: RemoteHost,
  backup: { size: number; serverVersion: string },
  headroom: number,
  test: (db: DbTarget) => Promise<T>,
  o: { readyTimeoutMs?: number } = {},
): Promise<T> {
  const image = scratchImage(backup.serverVersion);
  const free = await host.exec(DOCKER_ROOT_FREE, { mutates: false, reject: false });
  const avail = Number(free.stdout.trim());
  if (free.exitCode !== 0 || !/^\d+$/.test(free.stdout.trim()))
    throw new BackupError(
      'database-step-failed',
      `cannot tell the free space of docker's data on ${host.target.name}: ${lastLines(free.stderr) || free.stdout}`,
    );
  const need = Math.ceil(backup.size * headroom);
  if (avail < need)
    throw new BackupError(
      'database-step-failed',
      `not enough room on ${host.target.name} for a throw-away ${image} server: ${formatBytes(avail)} free, ` +
        `${formatBytes(need)} needed (${headroom}× the database)`,
    );
  const name = `coopctl-restore-test-${randomBytes(4).toString('hex')}`;
  const started = await host.exec(scratchServerArgv(name, image), { mutates: true, reject: false });
  if (started.exitCode !== 0)
    throw new BackupError(
      'database-step-failed',
      `cannot start a throw-away ${image} server on ${host.target.name}: ${lastLines(started.stderr)}`,
    );
  try {
    const deadline = Date.now() + (o.readyTimeoutMs ?? 120_000);
    for (;;) {
      const r = await host.exec(scratchReadyArgv(name), { mutates: false, reject: false });
      if (r.exitCode === 0) break;
      if (Date.now() > deadline)
        throw new BackupError('database-step-failed', `the throw-away ${image} server ${name} did not come up`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return await test({ engine: 'mariadb', name: 'scratch', user: 'root', dockerContainer: name });
  } finally {
    await host.exec(scratchRemoveArgv(name), { mutates: true, reject: false }).catch(() => {});
  }
}
