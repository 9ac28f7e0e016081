import { describe, expect, it } from 'vitest';
import { judgeFreshness } from '../../../src/backup/freshness.js';
import type { ScheduleConfig } from '../../../src/config/schema.js';
import { sampleManifest } from './fixtures.js';

const H = 3_600_000;
const NOW = Date.parse('2026-12-08T12:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

const schedule = {
  backup: { onCalendar: 'daily', randomizedDelay: 30 * 60_000 },
  restoreTest: { onCalendar: 'Sun *-*-* 05:00:00', randomizedDelay: H },
  grace: 6 * H,
} as ScheduleConfig;

const restoreTest = (at: string, ok = true) => ({ at, kind: 'restore-scratch' as const, ok, details: {} });

describe('freshness, from the backups', () => {
  it('fresh within period + grace; the newest restore test is any backup’s newest passing one', () => {
    const f = judgeFreshness(
      [
        sampleManifest({ id: 'a', createdAt: ago(20 * H), verifications: [restoreTest(ago(3 * 24 * H))] }),
        sampleManifest({ id: 'b', createdAt: ago(44 * H), verifications: [restoreTest(ago(H), false)] }),
      ],
      schedule,
      NOW,
    );
    expect(f.backup).toEqual({ at: ago(20 * H), limitMs: 30 * H, stale: false });
    expect(f.restoreTest).toEqual({ at: ago(3 * 24 * H), limitMs: 7 * 24 * H + 6 * H, stale: false });
  });

  it('STALE when the newest is older than period + grace (a stopped timer), or when there is none', () => {
    const f = judgeFreshness([sampleManifest({ createdAt: ago(31 * H), verifications: [] })], schedule, NOW);
    expect(f.backup.stale).toBe(true);
    expect(f.restoreTest).toEqual({ at: null, limitMs: 174 * H, stale: true });
    expect(judgeFreshness([], schedule, NOW).backup).toEqual({ at: null, limitMs: 30 * H, stale: true });
  });
});
