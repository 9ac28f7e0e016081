import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  ComposeError,
  loadComposeProject,
  parseComposeGlobals,
  selectServices,
  type ComposeProject,
} from './mastodon/compose.js';
import {
  ensureSystemPath,
  findSandboxRoot,
  loadStandinConfig,
  standinPaths,
  type StandinConfig,
} from './mastodon/config.js';
import { DOCKER_PERMISSION_DENIED, daemonReachable } from './dockerDaemon.js';
import { envFlags, has, parseArgs, tabulate, UsageError, type Parsed } from './dockerArgs.js';
import { Containers, printPull, type Io } from './mastodon/containers.js';
import { ManifestUnknownError, pullImage } from './mastodon/images.js';
import { runInContainer } from './mastodon/inContainer.js';
import { buildImage } from './mastodon/build.js';
import { plainContainerCommand } from './scratchContainers.js';

/**
 * `docker` on a sandbox host: the `docker compose` subcommands the playbook
 * and coopctl use, with compose v2's argument shapes and (plain, non-TTY)
 * progress output on stderr.
 */
// source: https://docs.docker.com/reference/cli/docker/compose/ (pull, run, exec, ps, up, restart, stop, down and
// their flags); progress lines go to stderr and only requested data (ps, run's command) to stdout, as compose v2
// does without a TTY (`--progress plain`), so a parser that reads progress from stdout fails here as there
const COMPOSE_VERSION = '2.29.7';

const io: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

interface Ctx {
  root: string;
  cfg: StandinConfig;
  project: ComposeProject;
  containers: Containers;
}

function pull(ctx: Ctx, args: string[]): number {
  const p = parseArgs(
    args,
    ['-q', '--quiet', '--ignore-pull-failures', '--include-deps', '--ignore-buildable'],
    ['--policy'],
  );
  const quiet = has(p, '-q', '--quiet');
  const say: Io = quiet ? { out: () => {}, err: () => {} } : io;
  const pulledBy = new Map<string, string>();
  let failed: string | undefined;
  for (const s of selectServices(ctx.project, p.positionals)) {
    const first = pulledBy.get(s.image);
    if (first) {
      say.err(` ${s.name} Skipped - Image is already being pulled by ${first} `);
      continue;
    }
    pulledBy.set(s.image, s.name);
    if (s.pullPolicy === 'never' || s.pullPolicy === 'build') {
      say.err(` ${s.name} Skipped `);
      continue;
    }
    say.err(` ${s.name} Pulling `);
    try {
      printPull(say, s.name, pullImage(ctx.root, ctx.cfg, s.image));
    } catch (err) {
      if (!(err instanceof ManifestUnknownError)) throw err;
      say.err(` ${s.name} Error manifest unknown`);
      failed ??= s.image;
    }
  }
  if (failed && !has(p, '--ignore-pull-failures')) {
    // source: recorded real output of `docker compose pull` of a missing tag (moby's registry error "manifest
    // unknown"), exit 1 unless --ignore-pull-failures (https://docs.docker.com/reference/cli/docker/compose/pull/)
    io.err(`Error response from daemon: manifest for ${failed} not found: manifest unknown: manifest unknown`);
    return 1;
  }
  return 0;
}

/**
 * Compose allocates a terminal unless -T, or unless its stdout is none; with one, a stdin that is not a terminal is
 * refused. source: docker/compose cmd/compose/exec.go and run.go (`--no-TTY` defaults to
 * `!dockerCli.Out().IsTerminal()`) and docker/cli cli/streams/in.go:37-42 (CheckTty).
 */
function refusesTerminal(p: Parsed): boolean {
  if (has(p, '-T', '--no-TTY') || !process.stdout.isTTY || process.stdin.isTTY) return false;
  io.err('the input device is not a TTY');
  return true;
}

async function run(ctx: Ctx, args: string[]): Promise<number> {
  const p = parseArgs(
    args,
    [
      '--rm',
      '-T',
      '--no-TTY',
      '-d',
      '--detach',
      '--no-deps',
      '-i',
      '--interactive',
      '--service-ports',
      '--quiet-pull',
      '--remove-orphans',
    ],
    [
      '-e',
      '--env',
      '--name',
      '-u',
      '--user',
      '-w',
      '--workdir',
      '--entrypoint',
      '-v',
      '--volume',
      '-l',
      '--label',
      '-p',
      '--publish',
    ],
    true,
  );
  const [name, ...command] = p.positionals;
  if (!name) throw new UsageError('"docker compose run" requires at least 1 argument');
  if (refusesTerminal(p)) return 1;
  const service = ctx.containers.service(name);
  if (!service) throw new ComposeError(`no such service: ${name}`);
  if (has(p, '--no-deps')) ctx.containers.ensureImage(service);
  else await ctx.containers.startDependencies(service);
  if (!command.length) throw new UsageError(`the sandbox's ${service.image} has no default command to run: name one`);
  return runInContainer(
    { root: ctx.root, cfg: ctx.cfg, image: service.image, env: { ...service.env, ...envFlags(p) }, io },
    command,
  );
}

async function exec(ctx: Ctx, args: string[]): Promise<number> {
  const p = parseArgs(
    args,
    ['-T', '--no-TTY', '-d', '--detach', '--privileged', '-i', '--interactive'],
    ['-e', '--env', '-u', '--user', '-w', '--workdir', '--index'],
    true,
  );
  const [name, ...command] = p.positionals;
  if (!name || !command.length) throw new UsageError('"docker compose exec" requires at least 2 arguments');
  if (refusesTerminal(p)) return 1;
  const service = ctx.containers.service(name);
  if (!service) throw new ComposeError(`no such service: ${name}`);
  const rec = ctx.containers.record(service);
  if (!rec || !ctx.containers.running(service)) {
    // source: recorded real output of compose v2 (`docker compose exec` of a stopped service: `service "NAME" is
    // not running`, exit 1); the exact text is U, coopctl must rely on the exit code only
    io.err(`service "${name}" is not running`);
    return 1;
  }
  return runInContainer(
    { root: ctx.root, cfg: ctx.cfg, image: rec.image, env: { ...service.env, ...envFlags(p) }, io },
    command,
  );
}

function since(iso: string | undefined): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso ?? '')) / 1000)) || 0;
  if (s < 60) return `${s} seconds`;
  if (s < 120) return 'About a minute';
  if (s < 3600) return `${Math.floor(s / 60)} minutes`;
  if (s < 7200) return 'About an hour';
  if (s < 172800) return `${Math.floor(s / 3600)} hours`;
  return `${Math.floor(s / 86400)} days`;
}

// source: https://docs.docker.com/reference/cli/docker/compose/ps/ (`--format json`: one JSON object per line
// with ID, Name, Image, Command, Project, Service, State, Health, ExitCode, Status, Publishers; -a for stopped)
function ps(ctx: Ctx, args: string[]): number {
  const p = parseArgs(
    args,
    ['-a', '--all', '-q', '--quiet', '--services', '--no-trunc', '--orphans'],
    ['--format', '--filter', '--status'],
  );
  const rows = ctx.containers.list(p.positionals, has(p, '-a', '--all')).map(({ service, rec, alive }) => ({
    ID: createHash('sha256').update(`${rec.name}${rec.createdAt}`).digest('hex').slice(0, 12),
    Name: rec.name,
    Image: rec.image,
    Command: service.command ? `"${service.command.slice(0, 20)}${service.command.length > 20 ? '…' : ''}"` : '',
    Project: rec.project,
    Service: rec.service,
    CreatedAt: rec.createdAt,
    State: alive ? 'running' : 'exited',
    Health: '',
    ExitCode: 0,
    Status: alive ? `Up ${since(rec.startedAt)}` : `Exited (0) ${since(rec.finishedAt)} ago`,
    Publishers: [] as unknown[],
  }));
  const format = p.flags.get('--format')?.at(-1) ?? 'table';
  if (has(p, '--services')) for (const r of rows) io.out(r.Service);
  else if (has(p, '-q', '--quiet')) for (const r of rows) io.out(r.ID);
  else if (format === 'json') for (const r of rows) io.out(JSON.stringify(r));
  else {
    const table = [
      ['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'CREATED', 'STATUS', 'PORTS'],
      ...rows.map((r) => [r.Name, r.Image, r.Command, r.Service, `${since(r.CreatedAt)} ago`, r.Status, '']),
    ];
    for (const line of tabulate(table)) io.out(line);
  }
  return 0;
}

async function compose(argv: string[]): Promise<number> {
  const g = parseComposeGlobals(argv);
  const [sub, ...args] = g.rest;
  if (sub === 'version') {
    io.out(args.includes('--short') ? COMPOSE_VERSION : `Docker Compose version v${COMPOSE_VERSION}`);
    return 0;
  }
  if (!sub) throw new UsageError('Usage:  docker compose [OPTIONS] COMMAND');
  // The host's R/bin/docker names its root: the daemon answers (or not) before any project is read.
  const host = process.env.COOPCTL_SANDBOX_ROOT;
  if (host && !daemonReachable(host)) {
    io.err(DOCKER_PERMISSION_DENIED);
    return 1;
  }
  const project = loadComposeProject(g, process.cwd());
  const root = findSandboxRoot([project.dir, process.cwd()]);
  const cfg = loadStandinConfig(root);
  const ctx: Ctx = { root, cfg, project, containers: new Containers(root, cfg, project, io) };
  switch (sub) {
    case 'pull':
      return pull(ctx, args);
    case 'run':
      return run(ctx, args);
    case 'exec':
      return exec(ctx, args);
    case 'ps':
      return ps(ctx, args);
    case 'up': {
      const p = parseArgs(
        args,
        [
          '-d',
          '--detach',
          '--remove-orphans',
          '--no-deps',
          '--wait',
          '--quiet-pull',
          '--no-recreate',
          '--force-recreate',
          '--no-build',
          '--pull',
        ],
        ['-t', '--timeout', '--wait-timeout'],
      );
      // the harsher reading: `up` without -d would attach and never return under Ansible; refuse it outright
      if (!has(p, '-d', '--detach')) throw new UsageError('the sandbox runs `up` detached only: pass -d');
      await ctx.containers.up(p.positionals, { removeOrphans: has(p, '--remove-orphans') });
      return 0;
    }
    case 'restart':
    case 'stop': {
      const p = parseArgs(args, ['--no-deps'], ['-t', '--timeout']);
      await (sub === 'restart' ? ctx.containers.restart(p.positionals) : ctx.containers.stop(p.positionals));
      return 0;
    }
    case 'down': {
      const p = parseArgs(args, ['--remove-orphans', '-v', '--volumes'], ['-t', '--timeout', '--rmi']);
      if (p.positionals.length) throw new UsageError('"docker compose down" takes no service names');
      await ctx.containers.down();
      return 0;
    }
    default:
      throw new UsageError(`unknown docker command: "compose ${sub}"`);
  }
}

/** `docker build [--progress plain] [--pull] -t TAG CONTEXT`: the patched image the playbook builds. */
function build(args: string[]): number {
  try {
    const p = parseArgs(args, ['--pull', '-q', '--quiet', '--no-cache'], ['-t', '--tag', '--progress', '-f', '--file']);
    const tag = p.flags.get('-t')?.at(-1) ?? p.flags.get('--tag')?.at(-1);
    const [context, ...more] = p.positionals;
    if (!context || more.length) throw new UsageError('"docker build" requires exactly 1 argument');
    if (!tag) throw new UsageError('the sandbox builds tagged images only: pass -t');
    const host = process.env.COOPCTL_SANDBOX_ROOT;
    if (host && !daemonReachable(host)) {
      io.err(DOCKER_PERMISSION_DENIED);
      return 1;
    }
    const dir = path.resolve(context);
    const root = findSandboxRoot([dir, process.cwd()]);
    return buildImage(root, loadStandinConfig(root), { tag, context: dir }, io);
  } catch (err) {
    io.err(err instanceof UsageError ? err.message : `ERROR: ${(err as Error).message}`);
    return 1;
  }
}

function logInvocation(argv: string[], code: number): void {
  const root = process.env.COOPCTL_SANDBOX_ROOT;
  if (!root) return;
  try {
    const dir = standinPaths(root).log;
    mkdirSync(dir, { recursive: true });
    appendFileSync(path.join(dir, 'docker.log'), `${new Date().toISOString()} docker ${argv.join(' ')} -> ${code}\n`);
  } catch {
    // logging is best effort
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-v') {
    io.out('Docker version 27.3.1, build ce12230');
    return 0;
  }
  if (argv[0] === 'build') return build(argv.slice(1));
  const host = process.env.COOPCTL_SANDBOX_ROOT;
  try {
    // a restore test's throw-away MariaDB server, on the restore-test host as on hypha (scratchContainers.ts)
    if (host && argv[0] !== 'compose') {
      if (!daemonReachable(host)) {
        io.err(DOCKER_PERMISSION_DENIED);
        return 1;
      }
      const plain = await plainContainerCommand(host, argv);
      if (plain !== undefined) return plain;
    }
    if (argv[0] !== 'compose') {
      io.err(
        `docker: '${argv[0] ?? ''}' is not a docker command ` +
          '(the sandbox\'s docker knows "compose", "build", and run, exec, rm, info for throw-away servers).',
      );
      return 1;
    }
    return await compose(argv.slice(1));
  } catch (err) {
    if (err instanceof UsageError || err instanceof ComposeError) io.err(err.message);
    else io.err(`Error response from daemon: ${(err as Error).message}`);
    return 1;
  }
}

ensureSystemPath();
const argv = process.argv.slice(2);
main(argv).then((code) => {
  logInvocation(argv, code);
  process.exitCode = code;
});
