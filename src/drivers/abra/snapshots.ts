import { ToolOutputError } from '../../kernel/errors.js';
import { outputExcerpt } from './appList.js';
import { stripAnsi } from './cli.js';

/*
 * What backup-bot-two prints through abra's backup commands. Its source (coop-cloud/backup-bot-two backupbot.py)
 * and abra's (cli/app/backup.go) live at git.coopcloud.tech, which none of the search corpora holds; what is
 * known is the operators' (reference/production.md, U): it logs restic's JSON summary with `snapshot_id`, lists
 * snapshots as `<time> <id>` lines and a snapshot's files as paths without sizes. So the parsers take the harsher
 * reading: the summary may be JSON or a Python dict inside a log line, and any line may carry log noise around it.
 */

/** One snapshot as `abra app backup snapshots` lists it: backup-bot-two's `<time> <id>` line. */
export interface AbraSnapshot {
  id: string;
  /** As printed: restic's time without its fraction and zone. */
  time: string;
}

/** One file of a snapshot as `abra app backup ls` lists it: a path, no size, no type. */
export interface SnapshotFile {
  path: string;
}

// source: restic doc/075_scripting.rst ("backup" JSON output, message_type "summary": data_added, snapshot_id),
// which restic prints with --json and backup-bot-two logs (reference/production.md, U)
/** What `abra app backup create` reported: the snapshot id of restic's summary and what it added. */
export function parseBackupSummary(text: string): { snapshotId?: string; addedBytes?: number } {
  const clean = stripAnsi(text);
  const field = (name: string, value: string) =>
    new RegExp(`["']${name}["']\\s*:\\s*["']?(${value})["']?`).exec(clean)?.[1];
  const id = field('snapshot_id', '[0-9a-f]{8,64}');
  const added = field('data_added', '\\d+');
  return { snapshotId: id, addedBytes: added === undefined ? undefined : Number(added) };
}

/** `<time> <id>` lines, oldest first as restic lists them; other lines (logs) are not snapshots. */
export function parseSnapshotList(stdout: string): AbraSnapshot[] {
  const snapshots: AbraSnapshot[] = [];
  for (const line of stripAnsi(stdout).split('\n')) {
    const m = /^\s*(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S*)\s+([0-9a-f]{8,64})\s*$/.exec(line);
    if (m) snapshots.push({ time: m[1], id: m[2] });
  }
  if (!snapshots.length && /\bfatal|error|traceback/i.test(stdout)) {
    throw new ToolOutputError('abra app backup snapshots: an error instead of a snapshot list', {
      hints: [`abra printed: ${outputExcerpt(stdout)}`],
      details: { tool: 'abra' },
    });
  }
  return snapshots;
}

/** The paths `abra app backup ls` prints, one a line, maybe after a timestamp; what is not a path is skipped. */
export function parseSnapshotPaths(stdout: string): SnapshotFile[] {
  const files: SnapshotFile[] = [];
  for (const line of stripAnsi(stdout).split('\n')) {
    const m = /(?:^|\s)(\/\S.*?)\s*$/.exec(line);
    if (m) files.push({ path: m[1] });
  }
  return files;
}
