import { ToolOutputError } from '../../kernel/errors.js';
import { outputExcerpt } from './appList.js';
import { stripAnsi } from './cli.js';

/** One restic snapshot as `abra app backup snapshots` lists it (backup-bot-two prints restic's table). */
export interface AbraSnapshot {
  id: string;
  /** As restic prints it ("2026-08-10 12:00:00"), in the backup host's time zone. */
  time: string;
  host?: string;
  tags: string[];
  paths: string[];
  /** Bytes; undefined when this restic does not print a Size column. */
  size?: number;
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

/** "1.234 MiB" → bytes. */
export function parseResticSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)$/.exec(text.trim());
  return m ? Math.round(Number(m[1]) * UNITS[m[2]]) : undefined;
}

function columns(header: string): Array<{ name: string; start: number }> {
  const cols: Array<{ name: string; start: number }> = [];
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header))) cols.push({ name: m[0].toLowerCase(), start: m.index });
  return cols;
}

export function parseSnapshotTable(stdout: string): AbraSnapshot[] {
  const lines = stripAnsi(stdout).split('\n');
  const headerAt = lines.findIndex((l) => /^ID\s+Time\s/.test(l));
  if (headerAt < 0) {
    if (!stdout.trim() || /no snapshots|^0 snapshots$/im.test(stdout)) return [];
    throw new ToolOutputError('abra app backup snapshots: no restic snapshot table in the output', {
      hints: [`abra printed: ${outputExcerpt(stdout)}`],
      details: { tool: 'abra' },
    });
  }
  const cols = columns(lines[headerAt]);
  const cell = (line: string, name: string): string => {
    const i = cols.findIndex((c) => c.name === name);
    if (i < 0) return '';
    const end = i + 1 < cols.length ? cols[i + 1].start : undefined;
    return line.slice(cols[i].start, end).trim();
  };
  const snapshots: AbraSnapshot[] = [];
  for (const line of lines.slice(headerAt + 1)) {
    if (/^-{5,}/.test(line) || !line.trim()) continue;
    if (/^\d+ snapshots?$/.test(line.trim())) break;
    const id = cell(line, 'id');
    const paths = cell(line, 'paths');
    if (!id) {
      // restic prints further paths (and tags) of one snapshot on continuation lines
      const last = snapshots.at(-1);
      if (last && paths) last.paths.push(paths);
      continue;
    }
    if (!/^[0-9a-f]{8,64}$/.test(id)) {
      throw new ToolOutputError(`abra app backup snapshots: "${id}" is not a snapshot id`, {
        hints: [`abra printed: ${outputExcerpt(stdout)}`],
        details: { tool: 'abra' },
      });
    }
    const tags = cell(line, 'tags');
    const size = cell(line, 'size');
    snapshots.push({
      id,
      time: cell(line, 'time'),
      host: cell(line, 'host') || undefined,
      tags: tags ? tags.split(',').map((t) => t.trim()) : [],
      paths: paths ? [paths] : [],
      size: size ? parseResticSize(size) : undefined,
    });
  }
  return snapshots;
}

/** What `abra app backup create` reported: the restic snapshot id and how much it added. */
export function parseBackupOutput(text: string): { snapshotId?: string; addedBytes?: number } {
  const clean = stripAnsi(text);
  const id = /snapshot ([0-9a-f]{8,64}) saved/.exec(clean)?.[1];
  const added = /Added to the repository:\s*([\d.]+\s*(?:B|KiB|MiB|GiB|TiB))/.exec(clean)?.[1];
  return { snapshotId: id, addedBytes: added ? parseResticSize(added) : undefined };
}

/** A file of a snapshot as restic's `ls -l` prints it (what `abra app backup ls -s ID` shows). */
export interface SnapshotFile {
  path: string;
  size: number;
  directory: boolean;
}

/** restic `ls -l`: "-rw-r--r--     0     0 123456 2026-11-29 21:00:00 /path"; other lines (a header) are skipped. */
export function parseSnapshotListing(stdout: string): SnapshotFile[] {
  const files: SnapshotFile[] = [];
  for (const line of stripAnsi(stdout).split('\n')) {
    const m = /^([-dlcbps][-rwxsStT]{9})\s+\d+\s+\d+\s+(\d+)\s+\S+\s+\S+\s+(\/.*)$/.exec(line.trim());
    if (m) files.push({ path: m[3], size: Number(m[2]), directory: m[1].startsWith('d') });
  }
  return files;
}
