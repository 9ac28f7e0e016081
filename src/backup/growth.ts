/**
 * A database's growth, read from its backups: each manifest records the database's size on the server when it was
 * taken (`database.size`: pg_database_size, or MariaDB's information_schema). A least-squares line through the
 * last backups' sizes gives bytes per day; the free space of the data dir at that rate gives when it fills.
 */
export interface SizePoint {
  /** When the backup was taken (ISO 8601). */
  at: string;
  bytes: number;
}

const DAY_MS = 86_400_000;

/** The slope of the least-squares line through the points, in bytes per day; null with under two distinct times. */
export function growthPerDay(points: readonly SizePoint[]): number | null {
  const xs = points.map((p) => Date.parse(p.at) / DAY_MS);
  const n = points.length;
  if (n < 2) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = points.reduce((a, p) => a + p.bytes, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (points[i].bytes - my);
  }
  // all taken at once: no time to measure a rate over
  if (sxx === 0) return null;
  return sxy / sxx;
}

/** When `freeBytes` are used up at `bytesPerDay` from `now`; null when it does not grow. */
export function fillsAt(bytesPerDay: number | null, freeBytes: number, now = Date.now()): string | null {
  if (bytesPerDay === null || bytesPerDay <= 0) return null;
  const ms = now + (freeBytes / bytesPerDay) * DAY_MS;
  // past what a Date holds (8.64e15 ms): never, in practice
  return ms < 8.64e15 ? new Date(ms).toISOString() : null;
}

const BARS = '▁▂▃▄▅▆▇█';

/** A one-line chart of the values, lowest ▁ to highest █; all equal: a flat ▄ line. */
export function sparkline(values: readonly number[]): string {
  if (values.length === 0) return '';
  const min = Math.min(...values);
  const span = Math.max(...values) - min;
  const last = BARS.length - 1;
  return values.map((v) => BARS[span === 0 ? 3 : Math.round(((v - min) / span) * last)]).join('');
}
