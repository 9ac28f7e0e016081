import { spawn } from 'node:child_process';
import { Transform } from 'node:stream';
import { constants } from 'node:os';
import { pgEnv } from '../../world/postgres.js';
import { faultActive, type StandinConfig } from './config.js';
import type { Io } from './containers.js';
import { imageDir, imageVersion, isBuiltFromFixture, parseImageRef } from './images.js';
import { hostCluster, migrate, schemaVersion } from './migrations.js';

/**
 * What a command does "inside" a container of the sandbox: the postgres
 * container runs PostgreSQL client tools on the host against this host's
 * cluster; a Mastodon image knows `rails db:migrate`, `rails db:version` and
 * `tootctl version`; redis answers version questions.
 */
export interface InContainer {
  root: string;
  cfg: StandinConfig;
  image: string;
  /** The container's environment (env_file, environment, -e). */
  env: Record<string, string>;
  io: Io;
}

// source: recorded real output of `docker compose exec SERVICE missing-cmd` (runc's "OCI runtime exec failed"),
// exit 127
function notFound(io: Io, cmd: string): number {
  io.err(
    `OCI runtime exec failed: exec failed: unable to start container process: exec: "${cmd}": executable file not found in $PATH: unknown`,
  );
  return 127;
}

/**
 * Host process with the container's stdio: binary-safe, unbuffered (pg_dump -Fc to stdout). As under
 * `docker exec`, the process is the daemon's, not the client's: signals to the client never reach it, and when
 * the client goes away (its SSH session closed) the output is drained and dropped while the process runs on
 * to its end. Only something that ends it inside (pg_terminate_backend, stdin closing) stops it early.
 */
function passthrough(argv: string[], env: NodeJS.ProcessEnv, io: Io, bytesPerSecond?: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['inherit', 'pipe', 'pipe'], env, detached: true });
    const stdout = bytesPerSecond ? child.stdout.pipe(throttle(bytesPerSecond)) : child.stdout;
    for (const [from, to] of [
      [stdout, process.stdout],
      [child.stderr, process.stderr],
    ] as const) {
      from.pipe(to, { end: false });
      to.on('error', () => {
        from.unpipe(to);
        from.resume();
      });
    }
    child.on('error', (err) => resolve((err as NodeJS.ErrnoException).code === 'ENOENT' ? notFound(io, argv[0]) : 126));
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

/** The `dump-slow` fault: pg_dump's output trickles, as from a large, busy production database. */
const SLOW_DUMP_BYTES_PER_SECOND = 4 * 1024 * 1024;

function throttle(bytesPerSecond: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      setTimeout(() => cb(null, chunk), (chunk.length / bytesPerSecond) * 1000);
    },
  });
}

// source: redis `redis-server --version` ("Redis server v=7.2.5 sha=... malloc=jemalloc-5.3.0 bits=64 build=...")
// and `redis-cli --version` ("redis-cli 7.2.5"), recorded real output of the redis:7 image
function redisVersion(image: string): string {
  const major = parseImageRef(image).tag.split(/[.-]/)[0];
  return { '6': '6.2.16', '7': '7.2.5', '8': '8.0.2' }[major] ?? '7.2.5';
}

function redis(c: InContainer, argv: string[]): number {
  const v = redisVersion(c.image);
  const [cmd, ...args] = argv;
  if (cmd === 'redis-server' && args[0] === '--version')
    c.io.out(`Redis server v=${v} sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=5a6ed7b6fd1dd65a`);
  else if (cmd === 'redis-cli' && args[0] === '--version') c.io.out(`redis-cli ${v}`);
  else if (cmd === 'redis-cli' && args.at(-1)?.toLowerCase() === 'ping') c.io.out('PONG');
  else if (cmd === 'redis-cli' && args.join(' ').toLowerCase().endsWith('info server'))
    c.io.out(`# Server\r\nredis_version:${v}\r\nredis_mode:standalone\r\nos:Linux x86_64\r\n`);
  else return notFound(c.io, cmd);
  return 0;
}

// source: https://docs.joinmastodon.org/admin/tootctl/ (`tootctl version`: the running version); Rails'
// `db:version` task prints "Current version: N" (activerecord/lib/active_record/railties/databases.rake)
/** `bundle exec rails db:migrate` and friends, with the leading `bundle exec` optional. */
function mastodon(c: InContainer, argv: string[]): number {
  const args = argv[0] === 'bundle' && argv[1] === 'exec' ? argv.slice(2) : argv;
  const [cmd, task] = [args[0]?.replace(/^bin\//, ''), args[1]];
  const dir = imageDir(c.root, c.image);
  if (cmd === 'tootctl' && task === 'version') {
    c.io.out(imageVersion(dir, c.env));
    return 0;
  }
  const cluster = hostCluster(c.root, c.cfg);
  const db = c.env.DB_NAME || c.cfg.postgres.database;
  if ((cmd === 'rails' || cmd === 'rake') && task === 'db:migrate') {
    return migrate(cluster, db, dir, {
      // source: mastodon/mastodon lib/mastodon/database.rb:31 (`return if ENV['SKIP_POST_DEPLOYMENT_MIGRATIONS']`):
      // any value, "" and "false" included, skips the post-deployment migrations
      skipPostDeployment: c.env.SKIP_POST_DEPLOYMENT_MIGRATIONS !== undefined,
      failAfterFirst: faultActive(c.root, 'migration-fails'),
      failPostDeployment: faultActive(c.root, 'post-migration-fails'),
      secondsEach: faultActive(c.root, 'migrations-slow') ? 3 : 0,
      out: c.io.out,
      err: c.io.err,
    });
  }
  if ((cmd === 'rails' || cmd === 'rake') && task === 'db:version') {
    c.io.out(`Current version: ${schemaVersion(cluster, db)}`);
    return 0;
  }
  return notFound(c.io, argv[0]);
}

export async function runInContainer(c: InContainer, argv: string[]): Promise<number> {
  const repo = parseImageRef(c.image).repository;
  if (/(^|\/)postgres$/.test(repo)) {
    const slow = argv[0] === 'pg_dump' && faultActive(c.root, 'dump-slow') ? SLOW_DUMP_BYTES_PER_SECOND : undefined;
    return passthrough(argv, { ...process.env, ...pgEnv(hostCluster(c.root, c.cfg)), ...c.env }, c.io, slow);
  }
  if (/(^|\/)redis$/.test(repo)) return redis(c, argv);
  if (isBuiltFromFixture(c.cfg, c.image) && !repo.endsWith('-streaming')) return mastodon(c, argv);
  return notFound(c.io, argv[0]);
}
