import type { Printer } from '../kernel/io.js';

const MARK = { pass: '✓', warn: '!', fail: '✗' } as const;

export function statusMark(p: Printer, s: 'pass' | 'warn' | 'fail'): string {
  const color = s === 'pass' ? 'green' : s === 'warn' ? 'yellow' : 'red';
  return p.style(color, MARK[s]);
}

/** A plain text table: columns padded to their widest cell. */
export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  // eslint-disable-next-line no-control-regex
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths = all[0]?.map((_, i) => Math.max(...all.map((r) => visible(r[i] ?? '')))) ?? [];
  return all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i] - visible(c))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
