import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ToolOutputError } from '../kernel/errors.js';
import { redactDeep } from '../kernel/redact.js';
import type { RemoteHost } from '../remote/ssh.js';
import { stateDirFor } from './paths.js';

/**
 * History: one record per operation, stored on the target host as an
 * append-only JSON-lines file (one event per line: the start, then each
 * status transition with what was learnt). Lines are appended with O_APPEND,
 * so a record is never rewritten.
 */
const STATUSES = ['pending', 'succeeded', 'failed', 'rolled-back', 'cancelled'] as const;
export type RecordStatus = (typeof STATUSES)[number] | 'interrupted';

export interface HistoryRecord {
  id: string;
  service: string;
  env: string;
  operation: string;
  from: string | null;
  to: string | null;
  status: RecordStatus;
  operator: string;
  operators: string[];
  startedAt: string;
  finishedAt: string | null;
  backupId: string | null;
  promotedFrom: string | null;
  message?: string;
  transitions: Array<{ status: string; at: string; note?: string }>;
  /** Check/verification results, Ansible summary, config digest, repo commit, log reference, ... */
  details: Record<string, unknown>;
}

const eventSchema = z.object({
  at: z.string(),
  status: z.enum(STATUSES).optional(),
  note: z.string().optional(),
  fields: z.record(z.string(), z.unknown()).optional(),
});
type RecordEvent = z.infer<typeof eventSchema>;

const ID = /^[0-9]{8}T[0-9]{6}Z-[a-z-]+-[0-9a-f]{6}$/;

export function newRecordId(operation: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${recordSuffix(operation)}`;
}

/** `<operation>-<hex>`: a record id without its time, which the host puts in front. */
function recordSuffix(operation: string): string {
  return `${operation.replace(/[^a-z-]/g, '')}-${randomBytes(3).toString('hex')}`;
}

/** What the host stamped on an event it appended: the record's id (named by the host for a new one) and the time. */
interface Appended {
  id: string;
  at: string;
}

// The host's clock stamps every event (`at`) and names a new record (`<host time>-<operation>-<hex>`): history is
// ordered, and a soak measured, by the host's clock, never by an operator's laptop's. $2: the record's id, or empty
// and $3 the `<operation>-<hex>` of a new one; stdin: the event's JSON without `at` and its closing brace (one
// printf: the line is appended with O_APPEND in one write). Prints `<id> <at>`.
const APPEND =
  'umask 077; set -- "$@" $(date -u "+%Y-%m-%dT%H:%M:%S.%3NZ %Y%m%dT%H%M%SZ"); id=${2:-$5-$3}; l=$(cat); ' +
  'mkdir -p "$1" && printf \'%s,"at":"%s"}\\n\' "$l" "$4" >> "$1/$id.jsonl" && echo "$id $4"';
// The host's clock (`#now <seconds>`), then the records newest first, each introduced by a marker line.
const READ =
  'echo "#now $(date +%s.%N)"; cd "$1" 2>/dev/null || exit 0; ' +
  'for f in $(ls -1 | grep "\\.jsonl$" | sort -r | head -n "$2"); do echo "#record $f"; cat "$f"; done';

export class HistoryStore {
  constructor(
    private readonly remote: RemoteHost,
    private readonly stateDir: string,
  ) {}

  private dir(service: string, env: string): string {
    return `${stateDirFor(this.stateDir, service, env)}/history`;
  }

  /** Appends an event to record `id`, or starts a new record of `{ operation }`; the host stamps it. */
  async append(
    service: string,
    env: string,
    record: string | { operation: string },
    event: Omit<RecordEvent, 'at'>,
  ): Promise<Appended> {
    const fresh = typeof record !== 'string';
    if (!fresh && !ID.test(record)) throw new Error(`internal: bad record id ${record}`);
    const json = JSON.stringify(redactDeep(event));
    if (json === '{}') throw new Error('internal: an empty history event');
    const suffix = fresh ? recordSuffix(record.operation) : '';
    const r = await this.remote.exec(
      ['sh', '-c', APPEND, 'coopctl-history', this.dir(service, env), fresh ? '' : record, suffix],
      { mutates: true, stdin: json.slice(0, -1) },
    );
    if (r.skipped) {
      const now = new Date();
      return { id: fresh ? newRecordId(record.operation, now) : record, at: now.toISOString() };
    }
    const [id, at] = r.stdout.trim().split(' ');
    if (!ID.test(id ?? '') || Number.isNaN(Date.parse(at ?? '')))
      throw new ToolOutputError(`${this.remote.target.name}: the history append answered ${JSON.stringify(r.stdout)}`);
    return { id, at };
  }

  async list(service: string, env: string, limit: number): Promise<HistoryRecord[]> {
    return (await this.read(service, env, limit)).records;
  }

  /** The records newest first, and the host's clock as it read them (what a record's age is measured against). */
  async read(service: string, env: string, limit: number): Promise<{ records: HistoryRecord[]; hostNow: Date }> {
    const r = await this.remote.exec(['sh', '-c', READ, 'coopctl-history', this.dir(service, env), String(limit)], {
      mutates: false,
    });
    const now = /^#now (\d+(?:\.\d+)?)$/m.exec(r.stdout);
    if (!now)
      throw new ToolOutputError(`${this.remote.target.name}: the history of ${service}/${env} has no clock line`);
    // newest first by the host's time of their start (ms), which names them only to the second
    const records = parseHistory(r.stdout).sort(
      (a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id),
    );
    return { records, hostNow: new Date(Number.parseFloat(now[1]) * 1000) };
  }
}

/** The operations that change which version runs: what rollback undoes, what a pre-change backup belongs to. */
const VERSION_CHANGES = ['upgrade', 'rollback', 'promote'];

interface ChangeWanted {
  /** One that deployed this version. */
  to?: string;
  /** One that started from this version. */
  from?: string;
  /** Only one that moved the version (the source of a promotion), not a redeploy of the same one. */
  moved?: boolean;
  /** A restore counts too (it deploys the running version again, with the patches it runs with). */
  restores?: boolean;
}

/**
 * The newest succeeded change of version among `records` (newest first, as read) that is what `want` asks: the one
 * reader of "the newest succeeded change" (what rollback undoes, what a promotion takes, what a version runs with).
 */
export function newestSucceededChange(
  records: readonly HistoryRecord[],
  want: ChangeWanted = {},
): HistoryRecord | undefined {
  const operations = want.restores ? [...VERSION_CHANGES, 'restore'] : VERSION_CHANGES;
  return records.find(
    (r) =>
      r.status === 'succeeded' &&
      operations.includes(r.operation) &&
      !!r.from &&
      !!r.to &&
      (want.to === undefined || r.to === want.to) &&
      (want.from === undefined || r.from === want.from) &&
      (!want.moved || r.from !== r.to),
  );
}

export function parseHistory(text: string): HistoryRecord[] {
  const records: HistoryRecord[] = [];
  let current: { id: string; events: RecordEvent[] } | undefined;
  const flush = () => {
    if (current) {
      const rec = foldRecord(current.id, current.events);
      if (rec) records.push(rec);
    }
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('#record ')) {
      flush();
      current = { id: line.slice(8).replace(/\.jsonl$/, ''), events: [] };
    } else if (line.trim() && current) {
      try {
        const e = eventSchema.safeParse(JSON.parse(line));
        if (e.success) current.events.push(e.data);
      } catch {
        // a torn last line of a crashed run: ignore it, the record shows as interrupted
      }
    }
  }
  flush();
  return records;
}

export function foldRecord(id: string, events: RecordEvent[]): HistoryRecord | undefined {
  if (events.length === 0) return undefined;
  const f: Record<string, unknown> = {};
  const transitions: HistoryRecord['transitions'] = [];
  let status: RecordStatus = 'pending';
  let finishedAt: string | null = null;
  for (const e of events) {
    Object.assign(f, e.fields ?? {});
    if (e.status) {
      status = e.status;
      transitions.push({ status: e.status, at: e.at, ...(e.note ? { note: e.note } : {}) });
      if (e.status !== 'pending') finishedAt = e.at;
    }
  }
  const { service, env, operation, from, to, operator, operators, backupId, promotedFrom, message, ...details } =
    f as Record<string, never>;
  return {
    id,
    service,
    env,
    operation,
    from: from ?? null,
    to: to ?? null,
    status,
    operator,
    operators: operators ?? [operator],
    startedAt: events[0].at,
    finishedAt,
    backupId: backupId ?? null,
    promotedFrom: promotedFrom ?? null,
    ...(message ? { message } : {}),
    transitions,
    details,
  };
}
