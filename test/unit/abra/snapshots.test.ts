import { describe, expect, it } from 'vitest';
import { ToolOutputError } from '../../../src/kernel/errors.js';
import { onTerminal } from '../../../src/drivers/abra/cli.js';
import { parseBackupSummary, parseSnapshotList, parseSnapshotPaths } from '../../../src/drivers/abra/snapshots.js';

const ID = '3924a53a0b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbc';

describe("backup-bot-two's summary of a backup (restic's JSON in a log line)", () => {
  it('finds snapshot_id and data_added in JSON or in a Python dict, among log lines', () => {
    const json = [
      '2026-12-07 23:40:01 INFO Backup these paths: /v/a',
      `23:40:02 SUMMARY backup finished {"message_type": "summary", "data_added": 0, "snapshot_id": "${ID}"}`,
    ].join('\n');
    expect(parseBackupSummary(json)).toEqual({ snapshotId: ID, addedBytes: 0 });
    const dict = `SUMMARY:backupbot:backup finished {'files_new': 1, 'data_added': 5120, 'snapshot_id': '${ID}'}`;
    expect(parseBackupSummary(dict)).toEqual({ snapshotId: ID, addedBytes: 5120 });
    expect(parseBackupSummary('INFO nothing')).toEqual({ snapshotId: undefined, addedBytes: undefined });
  });
});

describe('abra app backup snapshots: <time> <id> lines', () => {
  it('reads each line, with or without a fraction or zone, skipping log lines', () => {
    const out = [
      '2026-12-07 23:40:00 INFO listing snapshots',
      '2026-08-10T12:00:00 4f0e9a1c',
      '2026-08-11T03:15:42.123+02:00 9b2d11aa',
      '',
    ].join('\n');
    expect(parseSnapshotList(out)).toEqual([
      { time: '2026-08-10T12:00:00', id: '4f0e9a1c' },
      { time: '2026-08-11T03:15:42.123+02:00', id: '9b2d11aa' },
    ]);
  });

  it('returns none for an empty listing and refuses an error in its place', () => {
    expect(parseSnapshotList('')).toEqual([]);
    expect(() => parseSnapshotList('Fatal: unable to open config file: Stat: 403 Forbidden')).toThrow(ToolOutputError);
  });
});

describe('abra app backup ls: paths without sizes', () => {
  it('takes the path of each line, after a timestamp or not, spaces included', () => {
    const out = [
      '2026-11-29T21:00:00\t/var/lib/docker/volumes/b_db-data/_data',
      '2026-11-29T21:00:00\t/var/lib/docker/volumes/b_db-data/_data/backup.sql',
      '/var/lib/docker/volumes/b_uploads/_data/a file.png',
      'restic ls: done',
    ].join('\n');
    expect(parseSnapshotPaths(out).map((f) => f.path)).toEqual([
      '/var/lib/docker/volumes/b_db-data/_data',
      '/var/lib/docker/volumes/b_db-data/_data/backup.sql',
      '/var/lib/docker/volumes/b_uploads/_data/a file.png',
    ]);
  });
});

describe('a terminal for abra', () => {
  it('runs the command through script as one quoted shell line', () => {
    expect(onTerminal(['/opt/abra dir/abra', 'app', 'restore', "it's.example", '-s', 'ab12cd34'])).toEqual({
      file: 'script',
      args: ['-qec', `'/opt/abra dir/abra' app restore 'it'\\''s.example' -s ab12cd34`, '/dev/null'],
    });
  });
});
