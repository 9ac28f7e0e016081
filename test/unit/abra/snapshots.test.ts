import { describe, expect, it } from 'vitest';
import { ToolOutputError } from '../../../src/kernel/errors.js';
import { parseBackupOutput, parseResticSize, parseSnapshotTable } from '../../../src/drivers/abra/snapshots.js';
import { resticSize, snapshotTable } from '../../doubles/abra/commands/backup.js';

const RESTIC_017 = `ID        Time                 Host        Tags        Paths                                                   Size
-------------------------------------------------------------------------------------------------------------------
4f0e9a1c  2026-08-10 12:00:00  hypha                   /var/lib/docker/volumes/auth_social_coop_mariadb/_data  1.234 MiB
9b2d11aa  2026-08-11 03:15:42  hypha       nightly,db  /var/lib/docker/volumes/wiki_social_coop_mariadb/_data  0 B
                                                       /var/lib/docker/volumes/wiki_social_coop_images/_data
-------------------------------------------------------------------------------------------------------------------
2 snapshots
`;

describe('parseSnapshotTable', () => {
  it('reads restic columns by position, with empty tags and continuation paths', () => {
    expect(parseSnapshotTable(RESTIC_017)).toEqual([
      {
        id: '4f0e9a1c',
        time: '2026-08-10 12:00:00',
        host: 'hypha',
        tags: [],
        paths: ['/var/lib/docker/volumes/auth_social_coop_mariadb/_data'],
        size: Math.round(1.234 * 1024 * 1024),
      },
      {
        id: '9b2d11aa',
        time: '2026-08-11 03:15:42',
        host: 'hypha',
        tags: ['nightly', 'db'],
        paths: [
          '/var/lib/docker/volumes/wiki_social_coop_mariadb/_data',
          '/var/lib/docker/volumes/wiki_social_coop_images/_data',
        ],
        size: 0,
      },
    ]);
  });

  it('leaves size undefined for an older restic without the Size column', () => {
    const old = `ID        Time                 Host        Tags        Paths
----------------------------------------------------------------------
4f0e9a1c  2026-08-10 12:00:00  hypha                   /srv/x
----------------------------------------------------------------------
1 snapshots
`;
    expect(parseSnapshotTable(old)).toEqual([
      { id: '4f0e9a1c', time: '2026-08-10 12:00:00', host: 'hypha', tags: [], paths: ['/srv/x'], size: undefined },
    ]);
  });

  it('reads what the double prints (round trip)', () => {
    const table = snapshotTable('hypha.sandbox', [
      {
        id: 'aaaabbbb',
        time: '2026-08-10T12:00:00Z',
        paths: ['/v/a', '/v/b/backup.sql'],
        size: 0,
        empty: true,
        version: '1.0.0+x',
      },
      {
        id: 'ccccdddd',
        time: '2026-08-10T13:00:00Z',
        paths: ['/v/a'],
        size: 3 * 1024 * 1024,
        empty: false,
        version: '1.0.0+x',
      },
    ]);
    expect(parseSnapshotTable(table).map((s) => [s.id, s.time, s.paths, s.size])).toEqual([
      ['aaaabbbb', '2026-08-10 12:00:00', ['/v/a', '/v/b/backup.sql'], 0],
      ['ccccdddd', '2026-08-10 13:00:00', ['/v/a'], 3 * 1024 * 1024],
    ]);
  });

  it('returns no snapshots for an empty listing and refuses anything else', () => {
    expect(parseSnapshotTable('')).toEqual([]);
    expect(parseSnapshotTable(snapshotTable('h', []))).toEqual([]);
    expect(() => parseSnapshotTable('Fatal: unable to open config file: Stat: 403 Forbidden')).toThrow(ToolOutputError);
    expect(() => parseSnapshotTable('ID        Time                 Host\n--------\nnot-an-id 2026  h\n')).toThrow(
      /not a snapshot id/,
    );
  });
});

describe('sizes and backup output', () => {
  it.each([
    ['0 B', 0],
    ['512 B', 512],
    ['1.500 KiB', 1536],
    ['2.000 GiB', 2 * 1024 ** 3],
    ['lots', undefined],
  ])('parseResticSize(%j)', (text, bytes) => {
    expect(parseResticSize(text)).toBe(bytes);
  });

  it('formats as restic does and parses back', () => {
    for (const n of [0, 1023, 1024, 5 * 1024 * 1024 + 17]) {
      expect(Math.abs(parseResticSize(resticSize(n))! - n)).toBeLessThanOrEqual(n / 1000);
    }
  });

  it('finds the snapshot id and what restic added', () => {
    const out =
      'Files: 1 new\nAdded to the repository: 0 B (0 B stored)\n\nprocessed 1 files, 0 B in 0:01\nsnapshot 3924a53a saved\n';
    expect(parseBackupOutput(out)).toEqual({ snapshotId: '3924a53a', addedBytes: 0 });
    expect(parseBackupOutput('INFO nothing')).toEqual({ snapshotId: undefined, addedBytes: undefined });
  });
});
