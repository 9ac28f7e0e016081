import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

/** The part of a compose file the stand-in understands, with compose's own lookup rules. */
export type ServiceKind = 'db' | 'web' | 'streaming' | 'other';

export interface ComposeService {
  name: string;
  image: string;
  kind: ServiceKind;
  dependsOn: string[];
  command: string;
  /** env_file contents overlaid with `environment`. */
  env: Record<string, string>;
  /** compose's pull_policy: `never` is an image built on the host, which `pull` skips. */
  pullPolicy?: string;
  /** Hash of the definition and its env files: a change means "Recreate". */
  configHash: string;
}

export interface ComposeProject {
  name: string;
  dir: string;
  file: string;
  services: ComposeService[];
}

export interface ComposeGlobals {
  files: string[];
  projectDirectory?: string;
  projectName?: string;
  /** The subcommand and its arguments. */
  rest: string[];
}

export class ComposeError extends Error {}

const VALUE_FLAGS = new Set(['--env-file', '--ansi', '--progress', '--profile', '--parallel']);

export function parseComposeGlobals(argv: string[]): ComposeGlobals {
  const g: ComposeGlobals = { files: [], rest: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '-f' || flag === '--file') g.files.push(value());
    else if (flag === '--project-directory') g.projectDirectory = value();
    else if (flag === '-p' || flag === '--project-name') g.projectName = value();
    else if (VALUE_FLAGS.has(flag)) value();
    else if (flag === '--compatibility' || flag === '--dry-run') continue;
    else break;
  }
  g.rest = argv.slice(i);
  return g;
}

// source: https://docs.docker.com/compose/intro/compose-application-model/ (compose.yaml preferred, compose.yml,
// docker-compose.yaml/.yml for compatibility). Not modelled: compose also merges a compose.override.yml found
// beside it — `coopctl doctor` should list any override file on the real host.
const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];

// source: https://docs.docker.com/compose/how-tos/project-name/ (default: the directory's name; only lowercase
// letters, digits, dashes and underscores); containers are named PROJECT-SERVICE-1 in compose v2
function normaliseProjectName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

// source: https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/#env-file-syntax
// (KEY=VALUE, # comments, surrounding quotes removed)
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1);
    if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    env[line.slice(0, eq).trim()] = value;
  }
  return env;
}

function listOf(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function environmentOf(value: unknown): Record<string, string> {
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((e) => {
        const s = String(e);
        const eq = s.indexOf('=');
        return eq < 0 ? [s, process.env[s] ?? ''] : [s.slice(0, eq), s.slice(eq + 1)];
      }),
    );
  }
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === null ? '' : String(v)]));
  return {};
}

function kindOf(name: string, image: string): ServiceKind {
  const repo = image.split(':')[0];
  if (/(^|\/)postgres$/.test(repo)) return 'db';
  if (repo.endsWith('/mastodon-streaming')) return 'streaming';
  if (name === 'web') return 'web';
  return 'other';
}

export function loadComposeProject(g: ComposeGlobals, cwd: string): ComposeProject {
  const base = g.projectDirectory ? path.resolve(cwd, g.projectDirectory) : cwd;
  let file: string | undefined;
  if (g.files.length > 0) file = path.resolve(cwd, g.files[0]);
  else file = DEFAULT_FILES.map((f) => path.join(base, f)).find((f) => existsSync(f));
  if (!file || !existsSync(file))
    throw new ComposeError(
      g.files.length ? `open ${file}: no such file or directory` : 'no configuration file provided: not found',
    );
  const dir = g.projectDirectory ? base : path.dirname(file);
  let doc: Record<string, unknown>;
  try {
    doc = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new ComposeError(`yaml: ${(err as Error).message.split('\n')[0]}`);
  }
  const rawServices = (doc.services ?? {}) as Record<string, Record<string, unknown>>;
  const services: ComposeService[] = [];
  for (const [name, def] of Object.entries(rawServices)) {
    if (typeof def.image !== 'string')
      throw new ComposeError(
        `service "${name}" has neither an image nor a build context specified: invalid compose project`,
      );
    const envTexts: string[] = [];
    const env: Record<string, string> = {};
    for (const entry of listOf(def.env_file)) {
      const rel = typeof entry === 'string' ? entry : String((entry as { path: string }).path);
      const envPath = path.resolve(dir, rel);
      if (!existsSync(envPath))
        throw new ComposeError(`env file ${envPath} not found: stat ${envPath}: no such file or directory`);
      const text = readFileSync(envPath, 'utf8');
      envTexts.push(text);
      Object.assign(env, parseEnvFile(text));
    }
    Object.assign(env, environmentOf(def.environment));
    const dependsOn = Array.isArray(def.depends_on)
      ? def.depends_on.map(String)
      : Object.keys((def.depends_on ?? {}) as object);
    const configHash = createHash('sha256')
      .update(JSON.stringify(def))
      .update(envTexts.join('\0'))
      .digest('hex')
      .slice(0, 16);
    const command = Array.isArray(def.command) ? def.command.map(String).join(' ') : String(def.command ?? '');
    const pullPolicy = typeof def.pull_policy === 'string' ? def.pull_policy : undefined;
    services.push({
      name,
      image: def.image,
      kind: kindOf(name, def.image),
      dependsOn,
      command,
      env,
      configHash,
      pullPolicy,
    });
  }
  const name = g.projectName ?? (typeof doc.name === 'string' ? doc.name : normaliseProjectName(path.basename(dir)));
  return { name, dir, file, services };
}

export function containerName(project: ComposeProject, service: string): string {
  return `${project.name}-${service}-1`;
}

/** The named services (all when none) plus what they depend on, dependencies first. */
export function withDependencies(project: ComposeProject, names: string[]): ComposeService[] {
  const byName = new Map(project.services.map((s) => [s.name, s]));
  for (const n of names) if (!byName.has(n)) throw new ComposeError(`no such service: ${n}`);
  const wanted = names.length ? names : project.services.map((s) => s.name);
  const ordered: ComposeService[] = [];
  const visit = (n: string, seen: Set<string>) => {
    const s = byName.get(n);
    if (!s || ordered.includes(s) || seen.has(n)) return;
    seen.add(n);
    for (const d of s.dependsOn) visit(d, seen);
    ordered.push(s);
  };
  for (const n of wanted) visit(n, new Set());
  return ordered;
}

export function selectServices(project: ComposeProject, names: string[]): ComposeService[] {
  for (const n of names)
    if (!project.services.some((s) => s.name === n)) throw new ComposeError(`no such service: ${n}`);
  return names.length ? project.services.filter((s) => names.includes(s.name)) : project.services;
}
