import { describe, expect, it } from 'vitest';
import { fillsAt, growthPerDay, sparkline } from '../../../src/backup/growth.js';

const day = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString();
const MB = 1_000_000;

describe("a database's growth from its backups' sizes", () => {
  it('is the least-squares slope in bytes per day, whatever the spacing of the backups', () => {
    // 10 MB a day exactly, backups on days 0, 1, 3 and 7
    const exact = [0, 1, 3, 7].map((d) => ({ at: day(d), bytes: 100 * MB + d * 10 * MB }));
    expect(growthPerDay(exact)).toBeCloseTo(10 * MB, 0);
    // noise around 2 MB/day: the fit is the line, not the last step (which is a drop)
    const noisy = [
      { at: day(0), bytes: 50 * MB },
      { at: day(1), bytes: 53 * MB },
      { at: day(2), bytes: 54 * MB },
      { at: day(3), bytes: 55 * MB },
      { at: day(4), bytes: 57 * MB },
      { at: day(5), bytes: 56 * MB },
    ];
    // x̄ = 2.5, Σ(x-x̄)² = 17.5, Σ(x-x̄)(y-ȳ) = 21.5 MB → 1.2286 MB/day
    expect(growthPerDay(noisy)).toBeCloseTo((21.5 / 17.5) * MB, 0);
  });

  it('cannot be told from one backup, or from backups taken at the same instant', () => {
    expect(growthPerDay([])).toBeNull();
    expect(growthPerDay([{ at: day(0), bytes: MB }])).toBeNull();
    expect(
      growthPerDay([
        { at: day(0), bytes: MB },
        { at: day(0), bytes: 2 * MB },
      ]),
    ).toBeNull();
  });

  it('fills the free space at that rate: the date, or none when it does not grow', () => {
    const now = Date.parse(day(0));
    expect(fillsAt(10 * MB, 300 * MB, now)).toBe(day(30));
    expect(fillsAt(0, 300 * MB, now)).toBeNull();
    expect(fillsAt(-MB, 300 * MB, now)).toBeNull();
    expect(fillsAt(null, 300 * MB, now)).toBeNull();
    // a byte a day over a terabyte: past what a date holds
    expect(fillsAt(1e-9, 1e12, now)).toBeNull();
  });
});

describe('the sparkline of the sizes', () => {
  it('goes from ▁ at the smallest to █ at the largest', () => {
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([100, 50, 100])).toBe('█▁█');
    expect(sparkline([10, 10, 10])).toBe('▄▄▄');
    expect(sparkline([])).toBe('');
  });
});
