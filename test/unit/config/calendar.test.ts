import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { calendarProblem, parseCalendar } from '../../../src/config/calendar.js';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/kernel/errors.js';
import { configSchema } from '../../../src/operations/registry.js';

const H = 3_600_000;
const D = 24 * H;

/** The largest gap between systemd's own next elapses of the expression (systemd-analyze calendar --iterations). */
function systemdGap(expression: string, iterations = 30): number | undefined {
  const r = spawnSync('systemd-analyze', ['calendar', `--iterations=${iterations}`, expression], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
  });
  if (r.error) return undefined;
  expect(r.status, r.stderr).toBe(0);
  const times = [...r.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\S+ \S+)/g)].map((m) =>
    Date.parse(`${m[1].replace(' ', 'T')}Z`),
  );
  return Math.max(...times.slice(1).map((t, i) => t - times[i]));
}

describe('OnCalendar expressions of schedule:', () => {
  it.each([
    ['daily', D],
    ['weekly', 7 * D],
    ['hourly', H],
    ['*-*-* 03:15:00', D],
    ['Sun *-*-* 05:00:00', 7 * D],
    ['Mon..Fri 03:15', 3 * D],
    ['Mon,Thu *-*-* 02:00', 4 * D],
    ['*:0/5', 5 * 60_000],
    ['*-*-* 0/6:30:00', 6 * H],
    ['*-*-* 01,13:00', 12 * H],
  ])('%s repeats at most every %d ms, as systemd computes its elapses', (expr, period) => {
    expect(parseCalendar(expr).periodMs).toBe(period);
    // where systemd is installed, its own parser agrees (TZ=UTC: no daylight saving shifts the gaps)
    const gap = systemdGap(expr, period >= D ? 30 : 300);
    if (gap !== undefined) expect(gap).toBe(period);
  });

  it.each([
    ['monthly', 'date'],
    ['*-*-01 03:00', 'date'],
    ['Funday 03:00', 'weekday'],
    ['*-*-* 25:00', 'hour'],
    ['*-*-* 03:00:*', 'seconds'],
    ['03:00 extra', 'unexpected'],
  ])('refuses %s (%s)', (expr, why) => {
    expect(calendarProblem(expr)).toMatch(new RegExp(why === 'date' ? 'only the date' : why));
  });

  it('a bad onCalendar in coopctl.yaml is a config error at its line', () => {
    const text = `schedule:
  inventory: inventories/prod
  host: alpha
  backup:
    onCalendar: "*-*-01 03:00"
services: {}
`;
    let err: unknown;
    try {
      parseConfigText(text, `${process.cwd()}/coopctl.yaml`, configSchema());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/coopctl\.yaml:5.*schedule\.backup\.onCalendar.*only the date \*-\*-\*/);
  });
});
