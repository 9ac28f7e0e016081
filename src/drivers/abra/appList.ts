import { ToolOutputError } from '../../kernel/errors.js';
import { stripAnsi } from './cli.js';

/** One app of `abra app ls -S -m`; every field is optional because abra's key spellings are not a contract. */
export interface AbraApp {
  server?: string;
  recipe?: string;
  appName?: string;
  domain?: string;
  /** deployed | undeployed | unknown (anything else is passed through). */
  status?: string;
  chaos?: boolean;
  chaosVersion?: string;
  autoUpdate?: boolean;
  /** The version the Docker label reports; undefined when abra says "unknown". */
  version?: string;
  upgrade?: AbraUpgradeState;
}

type AbraUpgradeState = { kind: 'latest' } | { kind: 'unknown' } | { kind: 'available'; versions: string[] };

export function outputExcerpt(text: string, max = 200): string {
  const t = stripAnsi(text).trim();
  if (!t) return '(no output)';
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

function badOutput(what: string, stdout: string): ToolOutputError {
  return new ToolOutputError(`abra app ls -S -m: ${what}`, {
    hints: [
      `abra printed: ${outputExcerpt(stdout)}`,
      'check `abra --version`; coopctl expects the JSON of abra 0.9 or later',
    ],
    details: { tool: 'abra' },
  });
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function bool(v: unknown): boolean | undefined {
  const s = str(v)?.toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  return undefined;
}

function upgradeState(v: unknown): AbraUpgradeState | undefined {
  const s = str(v)?.trim();
  if (s === undefined || s === '') return undefined;
  if (s === 'latest') return { kind: 'latest' };
  if (s === 'unknown') return { kind: 'unknown' };
  return {
    kind: 'available',
    versions: s
      .split(/[\n,]/)
      .map((x) => x.trim())
      .filter(Boolean),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseApp(raw: unknown, server: string): AbraApp {
  if (!isRecord(raw)) throw new Error('an app entry is not an object');
  const version = str(raw.version);
  return {
    server: str(raw.server) ?? server,
    recipe: str(raw.recipe),
    appName: str(raw.appName),
    domain: str(raw.domain),
    status: str(raw.status),
    chaos: bool(raw.chaos),
    chaosVersion: str(raw.chaosVersion),
    autoUpdate: bool(raw.autoUpdate),
    version: version === 'unknown' || version === '' ? undefined : version,
    upgrade: upgradeState(raw.upgrade),
  };
}

/** Parses the JSON of `abra app ls -S -m [-s SERVER]`: `{ "<server>": { "apps": [...] , ...counts } }`. */
export function parseAppList(stdout: string): AbraApp[] {
  let doc: unknown;
  try {
    doc = JSON.parse(stripAnsi(stdout).trim());
  } catch {
    throw badOutput('the output is not JSON', stdout);
  }
  if (!isRecord(doc)) throw badOutput('expected a JSON object keyed by server', stdout);
  const apps: AbraApp[] = [];
  for (const [server, entry] of Object.entries(doc)) {
    if (!isRecord(entry)) throw badOutput(`the entry for server "${server}" is not an object`, stdout);
    if (entry.apps === undefined || entry.apps === null) continue;
    if (!Array.isArray(entry.apps)) throw badOutput(`"apps" of server "${server}" is not a list`, stdout);
    try {
      for (const raw of entry.apps) apps.push(parseApp(raw, server));
    } catch (err) {
      throw badOutput(`server "${server}": ${(err as Error).message}`, stdout);
    }
  }
  return apps;
}
