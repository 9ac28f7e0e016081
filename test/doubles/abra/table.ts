// source: operators' notes (reference/abra.md: "Human tables use box-drawing characters"; the UPGRADE OVERVIEW
// table before a deploy). coopctl reads abra's JSON (`-m`) only, never these tables.
/** abra's human tables: box-drawing borders, multi-line cells. */
export function boxTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cells = [headers, ...rows].map((r) => headers.map((_, i) => String(r[i] ?? '').split('\n')));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => Math.max(...r[i].map((l) => [...l].length)))));
  const rule = (l: string, m: string, r: string) => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const line = (row: string[][]) => {
    const height = Math.max(...row.map((c) => c.length));
    const out: string[] = [];
    for (let k = 0; k < height; k++) {
      out.push(`│${row.map((c, i) => ` ${(c[k] ?? '').padEnd(widths[i])} `).join('│')}│`);
    }
    return out;
  };
  const [head, ...body] = cells;
  return [rule('┌', '┬', '┐'), ...line(head), rule('├', '┼', '┤'), ...body.flatMap(line), rule('└', '┴', '┘')].join(
    '\n',
  );
}

/** A titled key/value table (the "UPGRADE OVERVIEW" abra prints before it deploys). */
export function overview(title: string, pairs: ReadonlyArray<readonly [string, string]>): string {
  return boxTable([title, ''], pairs);
}
