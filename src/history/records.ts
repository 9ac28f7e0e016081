import { randomBytes } from 'node:crypto';
import { z } from 'zod';
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
  return `${stamp}-${operation.replace(/[^a-z-]/g, '')}-${randomBytes(3).toString('hex')}`;
}

const APPEND = 'umask 077; mkdir -p "$1" && cat >> "$1/$2.jsonl"';
// Newest first; each file introduced by a marker line so the reader can split them.
const READ =
  'cd "$1" 2>/dev/null || exit 0; ' +
  'for f in $(ls -1 | grep "\\.jsonl$" | sort -r | head -n "$2"); do echo "#record $f"; cat "$f"; done';

export class HistoryStore {
  constructor(
    private readonly remote: RemoteHost,
    private readonly stateDir: string,
  ) {}

  private dir(service: string, env: string): string {
    return `${stateDirFor(this.stateDir, service, env)}/history`;
  }

  async append(service: string, env: string, id: string, event: RecordEvent): Promise<void> {
    if (!ID.test(id)) throw new Error(`internal: bad record id ${id}`);
    const line = `${JSON.stringify(redactDeep(event))}\n`;
    await this.remote.exec(['sh', '-c', APPEND, 'coopctl-history', this.dir(service, env), id], {
      mutates: true,
      stdin: line,
    });
  }

  async list(service: string, env: string, limit: number): Promise<HistoryRecord[]> {
    const r = await this.remote.exec(['sh', '-c', READ, 'coopctl-history', this.dir(service, env), String(limit)], {
      mutates: false,
    });
    return parseHistory(r.stdout);
  }
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
