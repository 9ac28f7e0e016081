/**
 * Plain containers of the sandbox's docker (hypha's, or a restore-test host's): the throw-away MariaDB servers a
 * restore test starts with `docker run -d --rm mariadb:<major.minor>`. Each is a real MariaDB server of Debian's
 * mariadb-server (test/world/mariadb.ts) under R/containers/NAME; `docker exec` runs in its environment, `docker rm
 * -f` stops it and removes it.
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { constants } from 'node:os';
import { initAndStartMariaDb, MARIADBD, stopMariaDb, type MariaDbServer } from '../world/mariadb.js';
import { freePort } from '../world/net.js';
import { envFlags, has, parseArgs, UsageError, type Parsed } from './dockerArgs.js';

interface Container {
  id: string;
  name: string;
  image: string;
  env: Record<string, string>;
  server: MariaDbServer;
}

const dirOf = (root: string, name: string) => path.join(root, 'containers', name);
const out = (line: string) => process.stdout.write(`${line}\n`);

function load(root: string, nameOrId: string): Container | undefined {
  const byName = path.join(dirOf(root, nameOrId), 'container.json');
  if (/^[\w.-]+$/.test(nameOrId) && existsSync(byName)) return JSON.parse(readFileSync(byName, 'utf8')) as Container;
  const dir = path.join(root, 'containers');
  if (!existsSync(dir)) return undefined;
  for (const name of execFileSync('ls', [dir]).toString().split('\n').filter(Boolean)) {
    const c = JSON.parse(readFileSync(path.join(dir, name, 'container.json'), 'utf8')) as Container;
    if (nameOrId.length >= 4 && c.id.startsWith(nameOrId)) return c;
  }
  return undefined;
}

export function isScratchContainer(root: string, nameOrId: string): boolean {
  return load(root, nameOrId) !== undefined;
}

/** The MariaDB this sandbox can run: Debian's mariadbd, `Ver 10.11.19-MariaDB-...` → `10.11`. */
function installedMariaDb(): string {
  const v = /Ver (\d+\.\d+)\./.exec(execFileSync(MARIADBD, ['--version']).toString());
  if (!v) throw new Error(`cannot read the version of ${MARIADBD}`);
  return v[1];
}

// source: https://docs.docker.com/reference/cli/docker/container/run/ (-d prints the new container's full id;
// --name; --rm; -e; --network; --label). Only throw-away MariaDB servers: any other image is refused, as a host
// without it and without a registry would (the daemon's "Unable to find image ... locally", then the pull error).
export async function scratchRun(root: string, args: string[]): Promise<number> {
  const p = parseArgs(args, ['-d', '--detach', '--rm'], ['--name', '--network', '--label', '-e', '--env'], true);
  const [image, ...command] = p.positionals;
  const name = p.flags.get('--name')?.at(-1);
  if (!image) throw new UsageError('"docker run" requires at least 1 argument.');
  if (!name || !has(p, '-d', '--detach') || !has(p, '--rm') || command.length)
    throw new UsageError(`the sandbox's docker runs only detached, named --rm servers: docker run ${args.join(' ')}`);
  const tag = /^mariadb:(\d+\.\d+)$/.exec(image)?.[1];
  if (tag !== installedMariaDb()) {
    process.stderr.write(
      `Unable to find image '${image}' locally\ndocker: Error response from daemon: pull access denied for ` +
        `${image}: the sandbox has only mariadb:${installedMariaDb()} (Debian's mariadb-server).\n`,
    );
    return 125;
  }
  if (load(root, name)) {
    process.stderr.write(
      `docker: Error response from daemon: Conflict. The container name "/${name}" is already in use.\n`,
    );
    return 125;
  }
  const env = envFlags(p as Parsed);
  // source: MariaDB/mariadb-docker 10.11/docker-entrypoint.sh docker_verify_minimum_env (exit 1 with this message)
  if (!env.MARIADB_ROOT_PASSWORD && !env.MARIADB_ALLOW_EMPTY_ROOT_PASSWORD && !env.MARIADB_RANDOM_ROOT_PASSWORD) {
    process.stderr.write('Database is uninitialized and password option is not specified\n');
    return 1;
  }
  const dir = dirOf(root, name);
  mkdirSync(dir, { recursive: true });
  const server: MariaDbServer = {
    dir: path.join(dir, 'db'),
    socket: path.join(root, 'run', `${randomBytes(4).toString('hex')}.sock`),
    port: await freePort(),
  };
  await initAndStartMariaDb(server, { rootPassword: env.MARIADB_ROOT_PASSWORD ?? '' });
  // In the image the server's socket is the client's default (/etc/mysql): here $MYSQL_HOME/my.cnf says where.
  writeFileSync(path.join(dir, 'my.cnf'), `[client-server]\nsocket=${server.socket}\nport=${server.port}\n`);
  const c: Container = { id: randomBytes(32).toString('hex'), name, image, env, server };
  writeFileSync(path.join(dir, 'container.json'), `${JSON.stringify(c, null, 2)}\n`);
  out(c.id);
  return 0;
}

/** `docker exec [-i] NAME ARGV...` in a throw-away server's environment; `healthcheck.sh` is the image's. */
export function scratchExec(root: string, p: Parsed, nameOrId: string, argv: string[]): Promise<number> {
  const c = load(root, nameOrId)!;
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: path.join(dirOf(root, c.name)),
    MYSQL_HOME: dirOf(root, c.name),
    ...c.env,
    ...envFlags(p),
  };
  // source: MariaDB/mariadb-docker 10.11/healthcheck.sh --connect: a TCP connection to the server (its
  // .my-healthcheck.cnf says protocol=tcp); the entrypoint's temporary server has no TCP
  const [cmd, args] =
    argv[0] === 'healthcheck.sh'
      ? ['mariadb', ['--protocol=tcp', '--host=127.0.0.1', `--port=${c.server.port}`, '--user=root', '-e', 'SELECT 1']]
      : [argv[0], argv.slice(1)];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: has(p, '-i', '--interactive') ? 'inherit' : ['ignore', 'inherit', 'inherit'],
      env: { ...env, MYSQL_PWD: argv[0] === 'healthcheck.sh' ? (c.env.MARIADB_ROOT_PASSWORD ?? '') : undefined },
    });
    child.on('error', () => resolve(127));
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

// source: https://docs.docker.com/reference/cli/docker/container/rm/ (-f kills a running container; -v removes
// its anonymous volumes; prints each name removed; an unknown one: "Error response from daemon: No such
// container: NAME", exit 1)
export async function scratchRm(root: string, args: string[]): Promise<number> {
  const p = parseArgs(args, ['-f', '--force', '-v', '--volumes'], []);
  let code = 0;
  for (const name of p.positionals) {
    const c = load(root, name);
    if (!c) {
      process.stderr.write(`Error response from daemon: No such container: ${name}\n`);
      code = 1;
      continue;
    }
    await stopMariaDb(c.server);
    rmSync(c.server.socket, { force: true });
    rmSync(dirOf(root, c.name), { recursive: true, force: true });
    out(name);
  }
  return code;
}

/** `docker info --format {{.DockerRootDir}}`: where the sandbox's containers keep their data. */
export function dockerInfo(root: string, args: string[]): number {
  const p = parseArgs(args, [], ['-f', '--format']);
  const format = p.flags.get('--format')?.at(-1) ?? p.flags.get('-f')?.at(-1);
  if (format !== '{{.DockerRootDir}}')
    throw new UsageError(`the sandbox's docker info prints only {{.DockerRootDir}}, not ${format ?? 'a table'}`);
  const dir = path.join(root, 'containers');
  mkdirSync(dir, { recursive: true });
  out(dir);
  return 0;
}

/** `docker exec`'s flags (docker/cli cli/command/container/exec.go: -i, -t, -d, --privileged, -e, -u, -w). */
export function parseExecArgs(args: string[]): Parsed {
  return parseArgs(
    args,
    ['-i', '--interactive', '-t', '--tty', '-d', '--detach', '--privileged'],
    ['-e', '--env', '-u', '--user', '-w', '--workdir'],
    true,
  );
}

/**
 * The plain-container commands any sandbox host's docker answers (a restore test's throw-away server): `run`, `rm`,
 * `info`, and `exec` into such a server; undefined for any other command.
 */
export function plainContainerCommand(root: string, argv: string[]): Promise<number> | number | undefined {
  const [cmd, ...rest] = argv[0] === 'container' ? argv.slice(1) : argv;
  if (cmd === 'run') return scratchRun(root, rest);
  if (cmd === 'rm') return scratchRm(root, rest);
  if (cmd === 'info' && argv[0] !== 'container') return dockerInfo(root, rest);
  if (cmd !== 'exec') return undefined;
  const p = parseExecArgs(rest);
  const [id, ...command] = p.positionals;
  return id && command.length && isScratchContainer(root, id) ? scratchExec(root, p, id, command) : undefined;
}
