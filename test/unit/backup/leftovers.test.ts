import { describe, expect, it } from 'vitest';
import { judgeLeftovers, withOwners, type Leftover } from '../../../src/backup/leftovers.js';
import type { HistoryRecord } from '../../../src/history/records.js';

const DAY = 86_400_000;
const now = new Date('2026-11-29T12:00:00Z');

function leftover(name: string, ageMs: number, extra: Partial<Leftover> = {}): Leftover {
  return {
    kind: 'replaced-database',
    name,
    where: 'alpha',
    createdAt: new Date(now.getTime() - ageMs).toISOString(),
    size: 1,
    remove: async () => {},
    ...extra,
  };
}

describe('leftovers', () => {
  it('prune takes what is older than the retention; never one in use, nor one made under a live lock', () => {
    const judged = judgeLeftovers(
      [
        leftover('old', 8 * DAY),
        leftover('recent', 1 * DAY),
        leftover('old-in-use', 9 * DAY, { inUse: '2 sessions connected' }),
        leftover('under-lock', 60_000),
      ],
      { now, keepMs: 7 * DAY, lockedSince: new Date(now.getTime() - 120_000).toISOString() },
    );
    expect(judged.map((j) => [j.leftover.name, j.remove, j.reason])).toEqual([
      ['old-in-use', false, 'in use: 2 sessions connected'],
      ['old', true, 'older than backup.retention.leftovers'],
      ['recent', false, 'within backup.retention.leftovers'],
      ['under-lock', false, 'made under the lock held since 2026-11-29T11:58:00.000Z'],
    ]);
    expect(judgeLeftovers([leftover('under-lock', 60_000)], { now, keepMs: 0 })[0].remove).toBe(true);
  });

  it("a replaced database's owner is the run whose record kept it", () => {
    const record = {
      id: '20261129T110000Z-restore-abc123',
      operation: 'restore',
      details: { replacedDatabaseKeptAs: 'mastodon_production_before_20261129_110102' },
    } as unknown as HistoryRecord;
    const [owned, other] = withOwners(
      [leftover('mastodon_production_before_20261129_110102', DAY), leftover('mastodon_production_before_x', DAY)],
      [record],
    );
    expect(owned.owner).toBe('restore 20261129T110000Z-restore-abc123');
    expect(other.owner).toBeUndefined();
  });

  it("a volume's replaced files: their owner is the run whose record kept them beside the volume", () => {
    const dir = '/var/lib/docker/volumes/wiki_x_mediawiki-images/_data.coopctl-before-20261129T110102Z-a1b2c3';
    const record = {
      id: '20261129T110000Z-restore-abc123',
      operation: 'restore',
      details: { replacedDatabaseKeptAs: 'mediawiki_before_20261129_110102', replacedVolumesKeptAs: [dir] },
    } as unknown as HistoryRecord;
    const [volume, db] = withOwners(
      [leftover(dir, DAY, { kind: 'replaced-volume' }), leftover('mediawiki_before_20261129_110102', DAY)],
      [record],
    );
    expect(volume.owner).toBe('restore 20261129T110000Z-restore-abc123');
    expect(db.owner).toBe('restore 20261129T110000Z-restore-abc123');
  });
});
