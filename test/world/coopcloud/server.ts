import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { quoteArg } from '../../../src/remote/quote.js';
import { DOUBLE_CONFIG, type DoubleConfig } from '../../doubles/abra/home.js';
import {
  BACKUP_BOT_RECIPE,
  isFaultKind,
  setFault,
  stackName,
  swarmPath,
  updateSwarm,
  type FaultKind,
  type SwarmDb,
  type SwarmState,
} from '../../doubles/abra/swarm.js';
import { stopPid } from '../processes.js';
import { worldScript } from '../paths.js';
import { createRecipeRepos, fixtureRecipe, forkRecipe, type RecipeFork } from './recipes.js';
import { shareDirectory } from './git.js';
import { enableOidc } from './oidc.js';
import { SANDBOX_REALM } from '../../doubles/keycloak.js';
import { appDb, createAppDatabase } from './appDatabases.js';
import { createAppVolume } from './volumes.js';
import { parseEnv } from '../../doubles/abra/envFile.js';
import { RecipeRepo } from '../../doubles/abra/recipeRepo.js';
import { dockerSocketPath } from '../../doubles/dockerDaemon.js';
import { writeWrapper } from '../mastodon/host.js';
import { TRAEFIK_CONFIG, type TraefikConfig } from '../../doubles/traefik.js';

// source: operators' notes (reference/production.md, C: hypha runs bonfire, keycloak (auth), mediawiki (wiki,
// wiki-alpha) and traefik, no backup-bot-two; the wiki is a chaos deploy of a fork); the sandbox builds that
// server, without backup-bot-two unless a test deploys it (deployBackupBot).
export interface CoopCloudAppSpec {
  domain: string;
  recipe: string;
  version: string;
  /** Loopback port where the traefik stand-in answers for this app. */
  port: number;
  /** Faults active from the start (e.g. bonfire's broken backups). */
  faults?: FaultKind[];
  /** What the operator changed in the env file made from the recipe's sample (bonfire: its SSO settings). */
  configure?: (env: string) => string;
  /** Deployed as chaos (`abra app deploy -C`) from this fork of the recipe on `version` (the wiki). */
  chaos?: RecipeFork;
  /** How many files its data volume holds (volumes.ts): prod's few hundred (default), or an alpha's few. */
  volumeSize?: 'prod' | 'small';
}

// source: reference/production.md (C: the wiki is a chaos deploy from a fork with the co-op's own commits; its
// SSO through auth.social.coop, reference/users.md). The overlay's content is the sandbox's own.
/** social.coop's fork of the mediawiki recipe: its SSO, two commits on 1.1.0+1.42.1 that no release has. */
export const WIKI_FORK: RecipeFork = {
  branch: 'social.coop',
  commits: [
    {
      message: 'feat: log in through auth.social.coop (PluggableAuth + OpenID Connect)',
      date: '2024-09-02T11:20:00+02:00',
      files: {
        'compose.sso.yml':
          '---\nversion: "3.8"\nservices:\n  app:\n    environment:\n      - SSO_ENABLED=1\n' +
          '      - SSO_REALM_URL=https://${AUTH_DOMAIN}/realms/social-coop\n',
      },
    },
    {
      message: 'fix: keep the local login for the admins',
      date: '2024-09-10T16:05:00+02:00',
      files: {
        'compose.sso.yml':
          '---\nversion: "3.8"\nservices:\n  app:\n    environment:\n      - SSO_ENABLED=1\n' +
          '      - SSO_REALM_URL=https://${AUTH_DOMAIN}/realms/social-coop\n      - SSO_LOCAL_LOGIN=1\n',
      },
    },
  ],
};

export interface CoopCloudSpec {
  /** The server's host dir, e.g. DIR/hosts/hypha: swarm.json, traefik.json, pid and logs live here. */
  root: string;
  abraDir: string;
  /** abra's server name, e.g. 'hypha.sandbox'. */
  server: string;
  /** The server's sshd: abra (the double) waits for its banner before touching the swarm. */
  ssh: { host: string; port: number };
  apps: CoopCloudAppSpec[];
  /** Address the traefik stand-in binds (default 127.0.0.1). */
  address?: string;
  /** Give each app's `db` service a real server of its engine under R/apps/<stack>/, seeded (the sandbox does). */
  databases?: boolean;
}

export { swarmPath };

/**
 * social.coop's hypha in the sandbox: bonfire (users.md: `abra app backup`
 * does not work for it — here, the backup "succeeds" with an empty dump, the
 * trap coopctl's backup verification must catch; it logs in through keycloak's
 * realm), keycloak, and two wikis.
 */
export function defaultCoopCloudApps(domainSuffix: string, firstPort: number): CoopCloudAppSpec[] {
  return [
    {
      domain: `bonfire.${domainSuffix}`,
      recipe: 'bonfire',
      version: '1.0.0+1.0.5-social-amd64',
      port: firstPort,
      faults: ['backup-empty-dump'],
      configure: (env) => enableOidc(env, { authDomain: `auth.${domainSuffix}`, realm: SANDBOX_REALM }),
    },
    { domain: `auth.${domainSuffix}`, recipe: 'keycloak', version: '7.0.0+25.0.6', port: firstPort + 1 },
    {
      domain: `wiki.${domainSuffix}`,
      recipe: 'mediawiki',
      version: '1.1.0+1.42.1',
      port: firstPort + 2,
      chaos: WIKI_FORK,
    },
    {
      domain: `wiki-alpha.${domainSuffix}`,
      recipe: 'mediawiki',
      version: '1.1.0+1.42.1',
      port: firstPort + 3,
      volumeSize: 'small',
    },
  ];
}

/** The bare repository standing for the operators' shared remote of abra's `servers/<server>` directory. */
export function serversUpstream(abraDir: string, server: string): string {
  return path.join(path.dirname(abraDir), 'shared', `servers-${server}.git`);
}

async function writeJson(file: string, doc: unknown): Promise<void> {
  await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
}

/** Recipes, env files, double.json, swarm.json with the apps deployed; then starts the traefik stand-in. */
export async function prepareCoopCloud(spec: CoopCloudSpec): Promise<void> {
  await mkdir(path.join(spec.root, 'log'), { recursive: true });
  const recipes = path.join(spec.abraDir, 'recipes');
  if (!existsSync(recipes)) {
    await createRecipeRepos(recipes);
    for (const app of spec.apps)
      if (app.chaos) await forkRecipe(path.join(recipes, app.recipe), app.version, app.chaos);
  }

  const serverDir = path.join(spec.abraDir, 'servers', spec.server);
  await mkdir(serverDir, { recursive: true });
  for (const app of spec.apps) {
    const recipe = fixtureRecipe(app.recipe);
    if (!recipe.releases.some((r) => r.tag === app.version))
      throw new Error(`${app.domain}: ${app.version} is not a release of ${app.recipe}`);
    const env = recipe.envFile(app.domain, app.version);
    await writeFile(path.join(serverDir, `${app.domain}.env`), app.configure?.(env) ?? env);
  }

  if (!existsSync(path.join(serverDir, '.git'))) {
    const upstream = serversUpstream(spec.abraDir, spec.server);
    await mkdir(path.dirname(upstream), { recursive: true });
    await shareDirectory(serverDir, upstream, `${spec.server}: the apps as deployed`);
  }

  const doubleFile = path.join(spec.abraDir, DOUBLE_CONFIG);
  const double: DoubleConfig = existsSync(doubleFile)
    ? (JSON.parse(await readFile(doubleFile, 'utf8')) as DoubleConfig)
    : { servers: {} };
  double.servers[spec.server] = { swarm: swarmPath(spec.root), ssh: spec.ssh };
  await writeJson(doubleFile, double);

  const now = new Date().toISOString();
  const swarm: SwarmState = { apps: {}, faults: {} };
  const dbs: Record<string, SwarmDb> = spec.databases
    ? Object.fromEntries(
        await Promise.all(spec.apps.map(async (a, i) => [a.domain, await appDb(spec.root, a.domain, a.recipe, i)])),
      )
    : {};
  await Promise.all(
    spec.apps.map(
      (a) => dbs[a.domain] && createAppDatabase(dbs[a.domain], fixtureRecipe(a.recipe), a.domain, a.version),
    ),
  );
  if (spec.databases) for (const a of spec.apps) createAppVolume(spec.root, a.domain, a.recipe, a.volumeSize ?? 'prod');
  for (const app of spec.apps) {
    const vars = {
      ...parseEnv(await readFile(path.join(serverDir, `${app.domain}.env`), 'utf8')),
      STACK_NAME: stackName(app.domain),
    };
    const repo = new RecipeRepo(spec.abraDir, app.recipe);
    // a chaos deploy: the working tree, its version label and its commit (commands/release.ts)
    const services = repo.services(app.chaos ? undefined : app.version, vars);
    const label = services.find((s) => s.name === 'app')?.labels[`coop-cloud.${stackName(app.domain)}.version`];
    swarm.apps[app.domain] = {
      stack: stackName(app.domain),
      recipe: app.recipe,
      version: app.chaos ? (label ?? repo.chaosVersion()) : app.version,
      chaos: !!app.chaos,
      ...(app.chaos ? { chaosVersion: repo.chaosVersion() } : {}),
      status: 'deployed',
      healthy: true,
      deployedAt: now,
      snapshots: [],
      services: services.map((svc) => ({ name: svc.name, image: svc.image ?? '' })),
      ...(dbs[app.domain] ? { db: dbs[app.domain] } : {}),
    };
    for (const f of app.faults ?? []) setFault(swarm, app.domain, f, true);
  }
  await writeJson(swarmPath(spec.root), swarm);
  // the server's `docker`: the swarm stand-in, for whoever may open the daemon's socket
  await mkdir(path.join(spec.root, 'bin'), { recursive: true });
  writeWrapper(spec.root, 'docker', process.execPath, 'swarmDocker');
  await mkdir(path.dirname(dockerSocketPath(spec.root)), { recursive: true });
  await writeFile(dockerSocketPath(spec.root), '', { flag: 'a', mode: 0o660 });

  const traefik: TraefikConfig = {
    swarm: swarmPath(spec.root),
    address: spec.address ?? '127.0.0.1',
    apps: spec.apps.map((a) => ({ domain: a.domain, port: a.port })),
  };
  await writeJson(path.join(spec.root, TRAEFIK_CONFIG), traefik);
  await startCoopCloudHealth(spec.root);
}

const PID_FILE = 'traefik.pid';

function runningPid(root: string): number | undefined {
  const file = path.join(root, PID_FILE);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    // a recycled pid belongs to someone else: only ours runs traefik.js
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('traefik.js')) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function probe(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: address, port, path: '/', timeout: 500 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/** Starts the traefik stand-in (detached; pid in <root>/traefik.pid, log in <root>/log/traefik.log) and waits until every port answers. */
export async function startCoopCloudHealth(root: string): Promise<void> {
  if (runningPid(root) !== undefined) return;
  const cfg = JSON.parse(await readFile(path.join(root, TRAEFIK_CONFIG), 'utf8')) as TraefikConfig;
  await mkdir(path.join(root, 'log'), { recursive: true });
  const log = openSync(path.join(root, 'log', 'traefik.log'), 'a');
  const child = spawn(process.execPath, [worldScript('doubles/traefik.js'), root], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();
  await writeFile(path.join(root, PID_FILE), `${child.pid}\n`);
  // generous: on a loaded two-core machine a Node start can take seconds
  const deadline = Date.now() + 30_000;
  for (const { port } of cfg.apps) {
    while (!(await probe(cfg.address, port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stopCoopCloudHealth(root);
        throw new Error(
          `the traefik stand-in did not start on ${cfg.address}:${port} (see ${path.join(root, 'log', 'traefik.log')})`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export async function stopCoopCloudHealth(root: string): Promise<void> {
  const pid = runningPid(root);
  if (pid !== undefined) await stopPid(pid);
  await rm(path.join(root, PID_FILE), { force: true });
}

// source: reference/production.md (P: backup-bot-two 2.4 is what abra's backup commands run in; it is deployed as
// an app of its own); the image is the recipe's (git.coopcloud.tech/coop-cloud/backup-bot-two), the tag the
// sandbox's
/**
 * Deploys backup-bot-two on the server (as `abra app deploy` of its recipe would: one `app` service), or removes
 * it: hypha has none, so only tests that need abra's backups deploy it.
 */
export function deployBackupBot(root: string, domain: string, on = true): void {
  updateSwarm(swarmPath(root), (state) => {
    if (!on) {
      delete state.apps[domain];
      return;
    }
    state.apps[domain] = {
      stack: stackName(domain),
      recipe: BACKUP_BOT_RECIPE,
      version: '2.4.0+2.4.0',
      chaos: false,
      status: 'deployed',
      healthy: true,
      deployedAt: new Date().toISOString(),
      snapshots: [],
      services: [{ name: 'app', image: 'git.coopcloud.tech/coop-cloud/backup-bot-two:2.4.0' }],
    };
  });
}

/** `coopctl sandbox fault`: switch one fault for an app (or '*': every app) of this server. */
export function setCoopCloudFault(root: string, target: string, kind: string, on: boolean): void {
  if (!isFaultKind(kind)) throw new Error(`unknown Co-op Cloud fault "${kind}"`);
  updateSwarm(swarmPath(root), (state) => setFault(state, target, kind, on));
}

export function clearCoopCloudFaults(root: string): void {
  updateSwarm(swarmPath(root), (state) => {
    state.faults = {};
  });
}

/** Writes `<binDir>/abra`, a sh wrapper running the double; ABRA_DIR defaults to `abraDir` when given. Returns its path. */
export async function writeAbraWrapper(binDir: string, abraDir?: string): Promise<string> {
  await mkdir(binDir, { recursive: true });
  const file = path.join(binDir, 'abra');
  const lines = ['#!/bin/sh', '# the coopctl sandbox stand-in for Co-op Cloud abra'];
  if (abraDir) lines.push(`if [ -z "\${ABRA_DIR:-}" ]; then ABRA_DIR=${quoteArg(abraDir)}; export ABRA_DIR; fi`);
  lines.push(`exec ${quoteArg(process.execPath)} ${quoteArg(worldScript('doubles/abra.js'))} "$@"`);
  await writeFile(file, `${lines.join('\n')}\n`);
  await chmod(file, 0o755);
  return file;
}
