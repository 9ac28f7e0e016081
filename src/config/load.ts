import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../kernel/errors.js';
import type { Config, configSchemaFor } from './schema.js';

type ConfigPath = readonly (string | number)[];

export interface LoadedConfig {
  /** Absolute path of coopctl.yaml. */
  file: string;
  dir: string;
  config: Config;
  /** sha256 of the file's bytes, recorded in history. */
  digest: string;
  /** "coopctl.yaml:14" for a path into the document (the nearest node that exists). */
  locate(p: ConfigPath): string;
  /** A path from the config, relative to its directory, with ~ expanded. */
  resolvePath(p: string): string;
  /** A ConfigError naming file:line and the path. */
  error(p: ConfigPath, message: string): ConfigError;
}

const CONFIG_NAME = 'coopctl.yaml';

function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return path.join(homedir(), p.slice(2));
  return p;
}

/** -c FILE > $COOPCTL_CONFIG > coopctl.yaml found walking up from cwd > $XDG_CONFIG_HOME/coopctl/coopctl.yaml */
export function findConfig(explicit: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  if (explicit) {
    const f = path.resolve(cwd, expandHome(explicit));
    if (!existsSync(f)) throw new ConfigError(`-c/--config: ${explicit}: no such file`);
    return f;
  }
  if (env.COOPCTL_CONFIG) {
    const f = path.resolve(cwd, expandHome(env.COOPCTL_CONFIG));
    if (!existsSync(f)) throw new ConfigError(`COOPCTL_CONFIG: ${env.COOPCTL_CONFIG}: no such file`);
    return f;
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const f = path.join(dir, CONFIG_NAME);
    if (existsSync(f)) return f;
    if (path.dirname(dir) === dir) break;
  }
  const xdg = env.XDG_CONFIG_HOME || path.join(homedir(), '.config');
  const f = path.join(xdg, 'coopctl', CONFIG_NAME);
  if (existsSync(f)) return f;
  throw new ConfigError(`no ${CONFIG_NAME} found in ${cwd} or above`, {
    hints: [
      'pass -c FILE, or try the sandbox: coopctl sandbox up --dir .sandbox && coopctl -c .sandbox/coopctl.yaml status',
    ],
  });
}

function formatPath(p: ConfigPath): string {
  return p
    .map((k, i) =>
      typeof k === 'number' ? `[${k}]` : /^[\w-]+$/.test(k) ? (i ? `.${k}` : k) : `[${JSON.stringify(k)}]`,
    )
    .join('');
}

/** The source offset of the deepest node (or map key) that exists along the path. */
function offsetOf(doc: Document, p: ConfigPath): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (const key of p) {
    if (!node || typeof node !== 'object' || !('items' in (node as object))) break;
    const items = (node as { items: unknown[] }).items;
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(key));
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      next = pair.value;
    } else if (typeof key === 'number') {
      next = items[key];
      offset = (next as Node | undefined)?.range?.[0] ?? offset;
    } else break;
    node = next;
  }
  return offset;
}

/** The schema of the whole file: configSchemaFor() with the registered drivers' service schemas. */
type ConfigSchema = ReturnType<typeof configSchemaFor>;

export function parseConfigText(text: string, file: string, configSchema: ConfigSchema): LoadedConfig {
  const display = path.relative(process.cwd(), file) || file;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const where = (offset: number) => `${display}:${lineCounter.linePos(offset).line}`;
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = lineCounter.linePos(e.pos[0]);
    throw new ConfigError(`${display}:${pos.line}:${pos.col} YAML syntax error: ${e.message.split('\n')[0]}`);
  }
  const raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const locate = (p: ConfigPath) => where(offsetOf(doc, p));
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, locate));
  const dir = path.dirname(file);
  return {
    file,
    dir,
    config: result.data,
    digest: createHash('sha256').update(text).digest('hex'),
    locate,
    resolvePath: (p) => path.resolve(dir, expandHome(p)),
    error: (p, message) => new ConfigError(`${locate(p)} ${formatPath(p)}: ${message}`),
  };
}

function formatIssues(issues: z.core.$ZodIssue[], locate: (p: ConfigPath) => string): string {
  const lines: string[] = [];
  for (const issue of issues) {
    const p = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        lines.push(`${locate([...p, key])} ${formatPath([...p, key])}: unknown key`);
      }
      continue;
    }
    let message = issue.message;
    if (issue.code === 'invalid_type' && issue.input === undefined) message = 'is required';
    lines.push(`${locate(p)} ${formatPath(p) || '(top level)'}: ${message}`);
  }
  return [...new Set(lines)].join('\n');
}

export function loadConfig(file: string, schema: ConfigSchema): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${(err as Error).message}`);
  }
  return parseConfigText(text, file, schema);
}
