import { InputError } from './errors.js';

/**
 * Names and versions are checked here before they go anywhere near a command
 * line. Commands always take argument arrays, so this is a second wall: a
 * value that fails these patterns never leaves the process.
 */
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,127}$/;

export function isSafeName(value: string): boolean {
  return NAME.test(value);
}

export function isSafeVersion(value: string): boolean {
  return VERSION.test(value) && !value.includes('..');
}

export function assertName(value: string, what: string): string {
  if (!isSafeName(value)) {
    throw new InputError(`${what}: ${JSON.stringify(value)} is not a valid name (letters, digits, '.', '_', '-')`);
  }
  return value;
}

export function assertVersion(value: string, what = '--to'): string {
  if (!isSafeVersion(value)) {
    throw new InputError(
      `${what}: ${JSON.stringify(value)} is not a valid version ` +
        '(expected something like 4.4.8 or 2.0.1+1.0.6-social-amd64)',
    );
  }
  return value;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "5m", "1h30m", "2d", or a bare number of seconds; undefined when it is none, or not a finite number. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return finite(Number(t) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(t))) {
    total += Number(m[1]) * UNITS[m[2]];
    consumed = re.lastIndex;
  }
  return consumed === t.length && consumed > 0 ? finite(total) : undefined;
}

function finite(ms: number): number | undefined {
  return Number.isFinite(ms) ? ms : undefined;
}

/** setTimeout holds at most 2^31-1 ms (about 24.8 days); longer, Node fires it at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_SPAN_MS = 3650 * UNITS.d;

/**
 * What a duration is for: a `timer` waits that long (a timeout, --lock-wait), a `span` is only compared with ages
 * (a soak time, a retention). Why `ms` cannot be one, or undefined when it can.
 */
export function durationProblem(ms: number, kind: 'timer' | 'span'): string | undefined {
  if (!Number.isFinite(ms) || ms < 0) return 'is not a duration';
  if (kind === 'timer' && ms > MAX_TIMER_MS) return `is longer than a timer can wait (${formatDuration(MAX_TIMER_MS)})`;
  if (kind === 'span' && ms > MAX_SPAN_MS) return 'is longer than ten years';
  return undefined;
}

export function durationFlag(text: string, flag: string, kind: 'timer' | 'span' = 'timer'): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new InputError(`${flag}: ${JSON.stringify(text)} is not a duration (try 30s, 5m, 1h)`);
  const problem = durationProblem(ms, kind);
  if (problem) throw new InputError(`${flag}: ${JSON.stringify(text)} ${problem}`);
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60}m`;
  return `${Math.floor(h / 24)}d`;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
};

/** "500MB", "2GiB", "1.5 GB": decimal or binary units, in bytes. */
export function sizeFlag(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmg]i?b|b)?$/i.exec(text.trim());
  const bytes = m ? Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toLowerCase()]) : 0;
  if (!m || bytes < 1) throw new InputError(`${flag}: ${JSON.stringify(text)} is not a size (try 500MB or 2GiB)`);
  return bytes;
}

/** n bytes in the largest binary unit that keeps the value ≥ 1. */
function scaleBytes(n: number): { value: number; unit: string } {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return { value, unit: units[i] };
}

export function formatBytes(n: number): string {
  const { value, unit } = scaleBytes(n);
  return `${value.toFixed(unit === 'B' ? 0 : 1)} ${unit}`;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

function didYouMean(value: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(value.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best !== undefined && bestD <= Math.max(2, Math.floor(value.length / 3))) return ` — did you mean "${best}"?`;
  return '';
}

export function unknownName(kind: string, value: string, known: Iterable<string>): string {
  const list = [...known];
  const hint = didYouMean(value, list);
  return `unknown ${kind} "${value}"${hint || (list.length ? ` (known: ${list.join(', ')})` : '')}`;
}

// C0 and C1 controls and DEL, and the format characters that reorder or hide text on a terminal: the bidi marks,
// embeddings, overrides and isolates (U+061C, U+200E-F, U+202A-E, U+2066-9) and the line and paragraph separators.
const UNPRINTABLE = /[\0-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * Text from a host or another operator (a lock message, a holder's name, a rejection's reason, a history note) as it
 * may be shown on a terminal: control characters, escape sequences among them, and bidi overrides become visible
 * `\xNN` / `\u{NNNN}` instead of acting on the terminal. `lines`: newlines and tabs stay (a multi-line message).
 * JSON output keeps the exact text (JSON escapes it).
 */
export function printable(text: string, opts: { lines?: boolean } = {}): string {
  return text.replace(UNPRINTABLE, (c) => {
    if (opts.lines && (c === '\n' || c === '\t')) return c;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
