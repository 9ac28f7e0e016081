import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inNetns } from '../netns.js';
import { initCluster, psql, startCluster, stopCluster } from '../postgres.js';
import {
  loadStandinConfig,
  standinPaths,
  standinScript,
  writeJsonAtomic,
  type StandinConfig,
} from '../../doubles/mastodon/config.js';
import { markAllExited, readState } from '../../doubles/mastodon/containers.js';
import { hostCluster } from '../../doubles/mastodon/migrations.js';
import { stopWeb } from '../../doubles/mastodon/webProcess.js';

/**
 * One sandbox Mastodon host under its root directory R: stand-in `docker`
 * and `systemctl` in R/bin, its own PostgreSQL cluster in R/pg, and the
 * places the playbook writes to (R/opt/social.coop, R/etc/systemd/system).
 */
export interface MastodonHostSpec {
  name: string;
  root: string;
  /** The fixture upstream (createMastodonUpstream): where images are "built" from. */
  upstream: string;
  web: { address: string; port: number };
  streaming?: { address: string; port: number };
  /** LOCAL_DOMAIN; default `<name>.social.coop.test`. */
  domain?: string;
}

export const MASTODON_DATABASE = 'mastodon_production';
export const MASTODON_SERVICE = 'mastodon';
const IMAGES = ['ghcr.io/mastodon/mastodon', 'ghcr.io/mastodon/mastodon-streaming'];

export const HEALTHY_MDSTAT = `Personalities : [raid1]
md0 : active raid1 sda1[0] sdb1[1]
      976630464 blocks super 1.2 [2/2] [UU]

unused devices: <none>
`;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** R/bin/NAME knows its host, as /usr/bin/docker does: also under sudo, which resets the environment. */
export function writeWrapper(root: string, name: string, node: string, script = name): void {
  const file = path.join(root, 'bin', name);
  const run = `exec ${shellQuote(node)} ${shellQuote(standinScript(script))} "$@"`;
  writeFileSync(file, `#!/bin/sh\nexport COOPCTL_SANDBOX_ROOT=${shellQuote(root)}\n${run}\n`, { mode: 0o755 });
  chmodSync(file, 0o755);
}

function hostEnv(root: string): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${path.join(root, 'bin')}:/usr/local/bin:/usr/bin:/bin`, COOPCTL_SANDBOX_ROOT: root };
}

export async function prepareMastodonHost(spec: MastodonHostSpec): Promise<void> {
  const root = path.resolve(spec.root);
  const p = standinPaths(root);
  const cfg: StandinConfig = {
    host: spec.name,
    domain: spec.domain ?? `${spec.name}.social.coop.test`,
    node: process.execPath,
    web: spec.web,
    ...(spec.streaming ? { streaming: spec.streaming } : {}),
    postgres: { port: 5432, database: MASTODON_DATABASE },
    registry: Object.fromEntries(IMAGES.map((image) => [image, spec.upstream])),
    mastodon: {
      dir: path.join(root, 'opt', 'social.coop'),
      systemdDir: path.join(root, 'etc', 'systemd', 'system'),
      service: MASTODON_SERVICE,
    },
  };
  for (const d of ['bin', 'var/lib/coopctl', 'proc', 'images', 'log', 'run'])
    mkdirSync(path.join(root, d), { recursive: true });
  for (const d of [cfg.mastodon.dir, cfg.mastodon.systemdDir]) mkdirSync(d, { recursive: true });
  mkdirSync(path.join(root, 'tmp'), { recursive: true });
  chmodSync(path.join(root, 'tmp'), 0o1777);
  writeWrapper(root, 'docker', cfg.node);
  writeWrapper(root, 'systemctl', cfg.node);
  writeJsonAtomic(p.config, cfg);
  if (!existsSync(path.join(root, 'proc', 'mdstat'))) writeFileSync(path.join(root, 'proc', 'mdstat'), HEALTHY_MDSTAT);
  if (!existsSync(p.faults)) writeFileSync(p.faults, '{}\n');
  // What docker's CLI must be able to open; root's alone on a host reached with sudo (test/world/become.ts).
  mkdirSync(path.dirname(p.dockerSocket), { recursive: true });
  writeFileSync(p.dockerSocket, '', { flag: 'a', mode: 0o660 });

  const cluster = hostCluster(root, cfg);
  initCluster(cluster);
  startCluster(cluster);
  if (psql(cluster, `SELECT 1 FROM pg_database WHERE datname = '${MASTODON_DATABASE}'`).trim() !== '1') {
    psql(cluster, `CREATE DATABASE ${MASTODON_DATABASE} TEMPLATE template0 ENCODING 'UTF8'`);
  }
}

const USERNAMES = [
  'admin',
  'alice',
  'bob',
  'carol',
  'dmitri',
  'eun-ji',
  'farah',
  'gustavo',
  'hana',
  'ines',
  'jonas',
  'kofi',
];
const TOOTS = [
  'Good morning, fediverse! The co-op meeting notes are up on the wiki.',
  'Reminder: the Tech Working Group meets on Thursday. Everyone welcome.',
  'Just voted on Loomio about the 1,000-character post limit.',
  'The upgrade went smoothly, thanks to everyone who watched the shared terminal.',
  'Backups restored fine in our test run today. Much relief.',
  'Anyone else growing tomatoes on the balcony this year?',
  'New members: say hi and tell us what brings you to social.coop!',
  'Reading the release notes for the next Mastodon version together on Thursday.',
];

/** Accounts, users and public statuses for the timeline (run after the first deploy migrated the schema). */
export async function seedMastodonData(
  root: string,
  opts: { accounts?: number; statuses?: number } = {},
): Promise<void> {
  const cfg = loadStandinConfig(root);
  const cluster = hostCluster(root, cfg);
  const db = cfg.postgres.database;
  if (psql(cluster, "SELECT to_regclass('public.statuses') IS NOT NULL", db).trim() !== 't') {
    throw new Error(`${cfg.host}: the Mastodon schema is not there yet: deploy (migrate) before seeding`);
  }
  const accounts = Math.max(1, Math.min(opts.accounts ?? 6, USERNAMES.length));
  const statuses = Math.max(0, opts.statuses ?? 24);
  const names = USERNAMES.slice(0, accounts);
  const values = names
    .map((n) => `('${n}', '${n[0].toUpperCase()}${n.slice(1)}', 'https://${cfg.domain}/users/${n}')`)
    .join(', ');
  psql(
    cluster,
    `BEGIN;
INSERT INTO accounts (username, display_name, uri)
  SELECT v.username, v.display_name, v.uri FROM (VALUES ${values}) AS v(username, display_name, uri)
  WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE lower(a.username) = lower(v.username) AND a.domain IS NULL);
INSERT INTO users (email, account_id, confirmed_at)
  SELECT a.username || '@${cfg.domain}', a.id, now() FROM accounts a
  WHERE a.domain IS NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id);
INSERT INTO statuses (text, account_id, local, language, uri, created_at)
  SELECT (ARRAY[${TOOTS.map((t) => `'${t.replace(/'/g, "''")}'`).join(', ')}])[1 + (g % ${TOOTS.length})],
    (SELECT id FROM accounts WHERE domain IS NULL ORDER BY id OFFSET (g % ${accounts}) LIMIT 1),
    true, 'en', 'https://${cfg.domain}/statuses/seed-' || g, now() - (${statuses} - g) * interval '7 minutes'
  FROM generate_series(1, GREATEST(0, ${statuses} - (SELECT count(*) FROM statuses)::int)) AS g
  ON CONFLICT DO NOTHING;
COMMIT;`,
    db,
  );
}

/** After a reboot (or `sandbox up` again): PostgreSQL, then the unit if enabled (else the containers that were up). */
export async function startMastodonHost(root: string, netns?: string): Promise<void> {
  const cfg = loadStandinConfig(root);
  startCluster(hostCluster(root, cfg));
  const unit = `${cfg.mastodon.service}.service`;
  const enabled = existsSync(path.join(cfg.mastodon.systemdDir, 'multi-user.target.wants', unit));
  const compose = path.join(cfg.mastodon.dir, 'docker-compose.yml');
  const opts = { env: hostEnv(root), cwd: cfg.mastodon.dir, stdio: 'pipe' as const };
  // The web stand-in must listen inside the host's network namespace, like the ones sshd sessions start.
  const run = (argv: string[]) => {
    const [cmd, ...args] = inNetns(netns, argv);
    execFileSync(cmd, args, opts);
  };
  if (enabled) run([path.join(root, 'bin', 'systemctl'), 'start', unit]);
  else if (existsSync(compose) && Object.keys(readState(root).containers).length > 0) {
    run([path.join(root, 'bin', 'docker'), 'compose', '-f', compose, 'up', '-d']);
  }
}

/** A clean shutdown: no process of the host keeps running; runtime state (/run) is gone as after a reboot. */
export async function stopMastodonHost(root: string): Promise<void> {
  const cfg = loadStandinConfig(root);
  await stopWeb(root);
  stopCluster(hostCluster(root, cfg));
  markAllExited(root);
  rmSync(path.join(standinPaths(root).run, 'systemd'), { recursive: true, force: true });
}

/** Inventory variables the playbook needs for this host (paths inside R; secrets are the inventory's business). */
export function mastodonHostVars(root: string): Record<string, string> {
  const cfg = loadStandinConfig(root);
  return {
    mastodon_dir: cfg.mastodon.dir,
    mastodon_systemd_dir: cfg.mastodon.systemdDir,
    mastodon_service: cfg.mastodon.service,
    mastodon_domain: cfg.domain,
    mastodon_web_bind: cfg.web.address,
    mastodon_web_port: String(cfg.web.port),
    ...(cfg.streaming
      ? { mastodon_streaming_bind: cfg.streaming.address, mastodon_streaming_port: String(cfg.streaming.port) }
      : {}),
  };
}

/**
 * Fresh values for the playbook's `mastodon_secrets` (what production reads
 * from pass): random, for one sandbox, never committed anywhere.
 */
export function sandboxMastodonSecrets(): Record<string, string> {
  const hex = (n: number) => randomBytes(n).toString('hex');
  return {
    SECRET_KEY_BASE: hex(64),
    VAPID_PRIVATE_KEY: randomBytes(32).toString('base64url'),
    VAPID_PUBLIC_KEY: randomBytes(65).toString('base64url'),
    ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY: hex(16),
    ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT: hex(16),
    ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY: hex(16),
    DB_PASS: hex(12),
  };
}
