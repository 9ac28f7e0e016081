import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parseEnv, recipeOf, withTypeVersion } from './envFile.js';
import { fatal } from './fatal.js';

// source: https://docs.coopcloud.tech/operators/handbook/ (per-app config in $ABRA_DIR/servers/<server>/, one
// <domain>.env per app; recipes cloned under $ABRA_DIR/recipes). double.json is the double's own plumbing.
/**
 * abra's local state under $ABRA_DIR: `servers/<server>/<domain>.env` and
 * `recipes/<recipe>`, plus the double-only `double.json` saying where each
 * server's swarm state lives and which address stands for its sshd.
 */
export interface DoubleServer {
  swarm: string;
  ssh: { host: string; port: number };
}

export interface DoubleConfig {
  servers: Record<string, DoubleServer>;
  /** Where `abra recipe fetch` clones a recipe from when it is not there yet (the double's catalogue). */
  recipeSources?: Record<string, string>;
}

export const DOUBLE_CONFIG = 'double.json';

export function abraDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.ABRA_DIR || path.join(homedir(), '.abra');
}

export function readDoubleConfig(dir: string): DoubleConfig {
  const file = path.join(dir, DOUBLE_CONFIG);
  if (!existsSync(file)) return { servers: {} };
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Partial<DoubleConfig>;
  return { ...doc, servers: doc.servers ?? {} };
}

export function serverOf(dir: string, server: string): DoubleServer {
  return (
    readDoubleConfig(dir).servers[server] ??
    fatal(
      `server ${server} is not reachable: no SSH details for it (the double reads them from ${path.join(dir, DOUBLE_CONFIG)})`,
    )
  );
}

export interface AppRef {
  domain: string;
  server: string;
  envPath: string;
  vars: Record<string, string>;
  recipe: string;
  /** The version pinned by `TYPE=<recipe>:<version>`, if any. */
  pinned?: string;
}

export function listServers(dir: string): string[] {
  const root = path.join(dir, 'servers');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => statSync(path.join(root, name)).isDirectory())
    .sort();
}

function loadApp(dir: string, server: string, file: string): AppRef {
  const envPath = path.join(dir, 'servers', server, file);
  const vars = parseEnv(readFileSync(envPath, 'utf8'));
  const { recipe, version } = recipeOf(vars);
  const domain = file.slice(0, -'.env'.length);
  if (!recipe) fatal(`${envPath}: no TYPE= line: which recipe is ${domain}?`);
  return { domain, server, envPath, vars, recipe, pinned: version };
}

export function appsOfServer(dir: string, server: string): AppRef[] {
  const sdir = path.join(dir, 'servers', server);
  if (!existsSync(sdir)) fatal(`server ${server} does not exist (no ${sdir})`);
  return readdirSync(sdir)
    .filter((f) => f.endsWith('.env'))
    .sort()
    .map((f) => loadApp(dir, server, f));
}

// source: operators' notes (reference/abra.md): abra finds an app by its env file's name under any server dir
export function findApp(dir: string, domain: string): AppRef {
  for (const server of listServers(dir)) {
    if (existsSync(path.join(dir, 'servers', server, `${domain}.env`))) return loadApp(dir, server, `${domain}.env`);
  }
  return fatal(`cannot find app with name ${domain}`);
}

export function pinVersion(app: AppRef, version: string): void {
  writeFileSync(app.envPath, withTypeVersion(readFileSync(app.envPath, 'utf8'), app.recipe, version));
}
