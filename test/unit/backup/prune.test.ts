import { describe, expect, it } from 'vitest';
import { findOrphans, planPrune } from '../../../src/backup/prune.js';
import { verifiedHow, type Manifest } from '../../../src/backup/manifest.js';
import { sampleManifest } from './fixtures.js';

const now = new Date('2025-11-26T12:00:00Z');
const H = 3_600_000;

type Kind = 'hash' | 'restore-list' | 'restore-scratch';

function backup(
  hoursAgo: number,
  opts: { env?: string; verified?: boolean; seq?: number; kinds?: Kind[] } = {},
): Manifest {
  const t = new Date(now.getTime() - hoursAgo * H);
  const stamp = t
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  const id = `${stamp}-${(opts.seq ?? 0).toString(16).padStart(6, '0')}`;
  return sampleManifest({
    id,
    env: opts.env ?? 'prod',
    createdAt: t.toISOString(),
    verifications: (opts.kinds ?? (opts.verified ? ['hash'] : [])).map((kind) => ({
      at: t.toISOString(),
      kind,
      ok: true,
      details: {},
    })),
  });
}

const ids = (ds: { manifest: Manifest }[]) => ds.map((d) => d.manifest.id);

describe('retention planning', () => {
  it('keeps the newest restore-tested backup too, even behind newer hash-checked ones', () => {
    const tested = backup(24 * 60, { kinds: ['hash', 'restore-scratch'], seq: 1 });
    const newer = [2, 1, 0].map((d) => backup(24 * d, { verified: true, seq: 10 + d }));
    const plan = planPrune([tested, ...newer], now, { keepLast: 2, keepDailyDays: 0 });
    expect(plan.keep.find((k) => k.manifest.id === tested.id)?.reasons).toEqual([
      'newest restore-tested backup of mastodon/prod',
    ]);
    expect(ids(plan.delete)).toEqual([newer[0].id]);
  });

  it('says how a backup was verified: the strongest passing check', () => {
    expect(verifiedHow(backup(1, { kinds: ['hash'] }))).toBe('hash-checked');
    expect(verifiedHow(backup(1, { kinds: ['hash', 'restore-list'] }))).toBe('structure-checked');
    expect(verifiedHow(backup(1, { kinds: ['restore-list', 'restore-scratch'] }))).toBe('restore-tested');
    expect(verifiedHow(backup(1))).toBeNull();
  });

  it('keeps the last N and the newest backup of each day within D days', () => {
    // Two a day for five days.
    const hours = [0, 6, 24, 30, 48, 54, 72, 78, 96, 102];
    const byAge = new Map(hours.map((h, i) => [h, backup(h, { verified: true, seq: i })]));
    const plan = planPrune([...byAge.values()], now, { keepLast: 2, keepDailyDays: 3 });
    // Last 2: 0h, 6h. Within 3 days (since the 23rd 12:00), the newest of the 26th (0h), 25th (24h), 24th (48h), 23rd (72h).
    expect(ids(plan.keep)).toEqual([0, 6, 24, 48, 72].map((h) => byAge.get(h)!.id));
    expect(plan.delete).toHaveLength(5);
    expect(plan.delete[0].reasons[0]).toMatch(/not one of the last 2/);
    expect(plan.keep[0].reasons).toContain('one of the last 2');
  });

  it('never deletes the newest verified backup of a service/env, however old', () => {
    const old = backup(24 * 90, { verified: true, seq: 1 });
    const recent = [1, 2, 3].map((h, i) => backup(h, { seq: 10 + i }));
    const plan = planPrune([old, ...recent], now, { keepLast: 1, keepDailyDays: 0 });
    expect(ids(plan.keep)).toEqual([recent[0].id, old.id]);
    expect(plan.keep[1].reasons).toEqual(['newest verified backup of mastodon/prod']);
    expect(ids(plan.delete)).toEqual([recent[1].id, recent[2].id]);
  });

  it('plans each environment on its own', () => {
    const plan = planPrune(
      [backup(5, { env: 'alpha', seq: 1 }), backup(1, { env: 'prod', seq: 2 }), backup(2, { env: 'prod', seq: 3 })],
      now,
      {
        keepLast: 1,
        keepDailyDays: 0,
      },
    );
    expect(plan.keep.map((d) => d.manifest.env)).toEqual(['alpha', 'prod']);
    expect(plan.delete.map((d) => d.manifest.env)).toEqual(['prod']);
  });
});

describe('orphans of failed backups', () => {
  it('are objects without a manifest, once older than a day', () => {
    const keys = [
      'mastodon/prod/20251120T000000Z-aaaaaa/manifest.json',
      'mastodon/prod/20251120T000000Z-aaaaaa/db.dump.zst.age',
      'mastodon/prod/20251121T000000Z-bbbbbb/env.production.age',
      'mastodon/prod/20251126T113000Z-cccccc/db.dump.zst.age',
      'unrelated/file.txt',
    ];
    expect(findOrphans(keys, now)).toEqual([
      {
        service: 'mastodon',
        env: 'prod',
        id: '20251121T000000Z-bbbbbb',
        keys: ['mastodon/prod/20251121T000000Z-bbbbbb/env.production.age'],
      },
    ]);
  });
});
