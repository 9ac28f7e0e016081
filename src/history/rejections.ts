import type { HistoryRecord } from './records.js';

/** A version operators marked as not to be promoted or picked, as the history records say. */
export interface Rejection {
  version: string;
  reason: string;
  operator: string;
  at: string;
  record: string;
}

const REJECT_OPERATIONS = ['reject', 'unreject'] as const;

/**
 * The rejections in force: every `reject`/`unreject` record, oldest first, the later one winning. The same record
 * is kept on the host of every environment, so records read from several hosts may repeat: that changes nothing.
 */
export function foldRejections(records: readonly HistoryRecord[]): Map<string, Rejection> {
  const marks = records
    .filter((r) => (REJECT_OPERATIONS as readonly string[]).includes(r.operation) && r.status === 'succeeded')
    .filter((r) => typeof r.details.version === 'string')
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  const out = new Map<string, Rejection>();
  for (const r of marks) {
    const version = r.details.version as string;
    if (r.operation === 'unreject') out.delete(version);
    else
      out.set(version, {
        version,
        reason: String(r.details.reason ?? ''),
        operator: r.operator,
        at: r.startedAt,
        record: r.id,
      });
  }
  return out;
}
