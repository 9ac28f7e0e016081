import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';
import { abraClient, abraConfig } from './app.js';

/**
 * An app's env file (`$ABRA_DIR/servers/<server>/<domain>.env`) as abra reads it (godotenv): `KEY=value` lines,
 * an optional `export `, '#' comments, single quotes literal, double quotes with escapes, `$VAR`/`${VAR}` naming
 * earlier keys of the file (unquoted and double-quoted values), a ` #` comment after an unquoted value.
 * Values may be secrets: callers show key names and line numbers, never values.
 */
export interface EnvFile {
  vars: Record<string, string>;
  /** The line each key was (last) set on, 1-based. */
  lines: Record<string, number>;
  /** Lines that are neither blank, a comment nor KEY=value (abra would refuse the file). */
  invalid: number[];
}

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/;

function expand(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\\\$|\$\{(\w+)\}|\$(\w+)/g, (m, braced?: string, bare?: string) =>
    m === '\\$' ? '$' : (vars[(braced ?? bare)!] ?? ''),
  );
}

function unescapeDouble(text: string): string {
  return text.replace(/\\([\\"nrt])/g, (_m, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c);
}

/** The closing quote of a value starting with `quote` at 0, or -1; a double quote may be escaped. */
function closingQuote(text: string, quote: string): number {
  for (let i = 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

export function parseEnvFile(text: string): EnvFile {
  const out: EnvFile = { vars: {}, lines: {}, invalid: [] };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) {
      out.invalid.push(i + 1);
      continue;
    }
    const [, key] = m;
    let raw = m[2];
    const start = i;
    let value: string;
    const quote = raw[0];
    if (quote === '"' || quote === "'") {
      // a quoted value may go on over several lines
      while (closingQuote(raw, quote) < 0 && i + 1 < lines.length) raw += `\n${lines[++i]}`;
      const end = closingQuote(raw, quote);
      if (end < 0) {
        out.invalid.push(start + 1);
        continue;
      }
      const inner = raw.slice(1, end);
      value = quote === "'" ? inner : expand(unescapeDouble(inner), out.vars);
    } else {
      value = expand(raw.replace(/\s+#.*$/, '').trim(), out.vars);
    }
    out.vars[key] = value;
    out.lines[key] = start + 1;
  }
  return out;
}

/** The keys a `.env.sample` defines: its uncommented KEY= lines. */
export function sampleKeys(sample: string): string[] {
  return Object.keys(parseEnvFile(sample).vars);
}

/** The compose files the env enables (COMPOSE_FILE, colon-separated; abra's default is compose.yml). */
export function composeFiles(env: EnvFile): string[] {
  const value = env.vars.COMPOSE_FILE;
  if (value === undefined) return ['compose.yml'];
  return value
    .split(':')
    .map((f) => f.trim())
    .filter(Boolean);
}

function appEnvPath(context: RunContext, t: Target): string {
  const { server, domain } = abraConfig(t);
  return path.join(abraClient(context).cli.abraDir, 'servers', server, `${domain}.env`);
}

/** The target's env file, read once per run; undefined when there is none. */
export function readAppEnv(context: RunContext, t: Target): Promise<{ file: string; env?: EnvFile }> {
  const file = appEnvPath(context, t);
  return context.once(`abra-env:${file}`, async () => {
    try {
      return { file, env: parseEnvFile(await readFile(file, 'utf8')) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { file };
      throw err;
    }
  });
}
