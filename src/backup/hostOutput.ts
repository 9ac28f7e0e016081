/** What host commands print, read: a key/value report up to its end line; the last lines of an error. */

export interface Report {
  values: Map<string, string>;
  complete: boolean;
}

/** "key<TAB>value" lines (psql's, or the mariadb client's) up to the "end" line. */
export function parseReport(text: string): Report {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === 'end\t' || line === 'end') return { values, complete: true };
    const tab = line.indexOf('\t');
    if (tab > 0) values.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return { values, complete: false };
}

export function lastLines(text: string, n = 3): string {
  return text
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .slice(-n)
    .join(' / ');
}
