import { describe, expect, it } from 'vitest';
import {
  envRequirementsCrossed,
  hasFailures,
  nextSeriesTarget,
  planUpgradeRules,
  suggestTargets,
  type RuleFinding,
} from '../../../src/services/mastodon/rules.js';

// Upstream's tags as of Aug 2026 (a subset, all real): parallel 4.4/4.5/4.6 patches and a 4.7 alpha.
const AVAILABLE = [
  'v3.5.3',
  'v3.5.5',
  'v4.0.0rc1',
  'v4.0.0',
  'v4.0.2',
  'v4.1.0',
  'v4.1.6',
  'v4.2.0-beta2',
  'v4.2.0-rc1',
  'v4.2.0',
  'v4.2.10',
  'v4.3.0-beta.1',
  'v4.3.0-rc.1',
  'v4.3.0',
  'v4.3.8',
  'v4.3.23',
  'v4.4.0-rc.1',
  'v4.4.0',
  'v4.4.8',
  'v4.4.10',
  'v4.4.22',
  'v4.5.0-rc.3',
  'v4.5.0',
  'v4.5.3',
  'v4.5.15',
  'v4.6.0-rc.2',
  'v4.6.0',
  'v4.6.5',
  'v4.7.0-alpha.1',
];

function plan(
  current: string,
  target: string,
  extra: Partial<Parameters<typeof planUpgradeRules>[0]> = {},
): RuleFinding[] {
  return planUpgradeRules({
    current,
    target,
    available: AVAILABLE,
    allowPrerelease: false,
    postgresVersion: '15.4',
    redisVersion: '7.2.4',
    ...extra,
  });
}

function finding(findings: RuleFinding[], id: string): RuleFinding {
  const f = findings.find((x) => x.id === id);
  if (!f) throw new Error(`no finding ${id} in ${JSON.stringify(findings)}`);
  return f;
}

function fails(findings: RuleFinding[]): string[] {
  return findings.filter((f) => f.level === 'fail').map((f) => f.id);
}

describe('planUpgradeRules', () => {
  it('passes social.coop’s next step, 4.4.8 → 4.5.15, with known-good dependencies', () => {
    const f = plan('4.4.8', '4.5.15');
    expect(fails(f)).toEqual([]);
    expect(hasFailures(f)).toBe(false);
    expect(finding(f, 'minor-series').message).toBe('moves one minor series, 4.4 → 4.5');
    expect(finding(f, 'postgres-version')).toMatchObject({
      level: 'ok',
      message: 'PostgreSQL 15.4 meets PostgreSQL 14+ (not 14.0–14.3)',
    });
  });

  it('refuses a version that is not a tag', () => {
    const f = finding(plan('4.4.8', '4.4.23'), 'target-exists');
    expect(f.level).toBe('fail');
    expect(f.message).toContain('4.4.23 is not a tag of the upstream repository');
    expect(f.message).toContain('(the newest 4.4 release is 4.4.22)');
    expect(finding(plan('4.4.8', '5.0.0'), 'target-exists').message).toContain('(the newest 4.6 release is 4.6.5)');
    expect(f.fix).toContain('coopctl versions <service>');
  });

  it('refuses the version already running', () => {
    const f = plan('4.4.8', 'v4.4.8');
    expect(finding(f, 'target-newer')).toMatchObject({ level: 'fail', message: 'already running 4.4.8' });
    expect(f.map((x) => x.id)).toEqual(['target-exists', 'target-newer']);
  });

  it('refuses a downgrade and names coopctl rollback', () => {
    const f = finding(plan('4.5.3', '4.4.22', { service: 'mastodon', env: 'prod' }), 'target-newer');
    expect(f.level).toBe('fail');
    expect(f.message).toMatch(
      /^downgrade refused \(4\.5\.3 → 4\.4\.22\): restoring a pre-upgrade backup is the only safe way back$/,
    );
    expect(f.fix).toContain('coopctl rollback mastodon --env prod');
  });

  it('treats a fork’s metadata as the same release', () => {
    expect(finding(plan('4.3.0+glitch', '4.3.0'), 'target-newer').message).toBe('already running 4.3.0+glitch');
    expect(fails(plan('4.3.8+hometown-1.1.2', '4.4.22'))).toEqual([]);
  });

  it('refuses a pre-release unless --pre, and never suggests it as stable', () => {
    const refused = finding(plan('4.4.22', '4.5.0-rc.3'), 'prerelease');
    expect(refused.level).toBe('fail');
    expect(refused.fix).toBe('pass --pre to allow pre-releases, or choose the stable 4.5.15');
    const allowed = plan('4.4.22', '4.5.0-rc.3', { allowPrerelease: true });
    expect(finding(allowed, 'prerelease').level).toBe('warn');
    expect(fails(allowed)).toEqual([]);
    expect(finding(plan('4.6.5', '4.7.0-alpha.1', { allowPrerelease: true }), 'minor-series').level).toBe('ok');
  });

  it('refuses skipping a minor series and names the intermediate target', () => {
    const f = finding(plan('4.4.8', '4.6.5'), 'minor-series');
    expect(f.level).toBe('fail');
    expect(f.message).toContain('4.4.8 → 4.6.5 skips series 4.5');
    expect(f.message).toContain('every minor series');
    expect(f.fix).toBe('upgrade to 4.5.15 first (the newest patch of 4.5), then continue');
    expect(finding(plan('4.3.8', '4.6.0'), 'minor-series').message).toContain('skips series 4.4, 4.5');
    expect(finding(plan('4.5.3', '4.7.0-alpha.1', { allowPrerelease: true }), 'minor-series').fix).toContain('4.6.5');
  });

  it('treats a major jump likewise', () => {
    const f = finding(plan('3.5.5', '4.1.6'), 'minor-series');
    expect(f.level).toBe('fail');
    expect(f.message).toContain('skips series 4.0 (a major upgrade does not lift this)');
    expect(f.fix).toContain('upgrade to 4.0.2 first');
    expect(finding(plan('3.5.5', '4.0.2'), 'minor-series').level).toBe('ok');
    expect(nextSeriesTarget('3.5.3', AVAILABLE)?.raw).toBe('v4.0.2');
    expect(nextSeriesTarget('4.6.5', AVAILABLE)).toBeUndefined();
  });

  it('applies the code-enforced zero-downtime limits', () => {
    // Both limits would also trip the series rule; check they are reported on their own.
    const from41 = plan('4.1.6', '4.4.22');
    expect(finding(from41, 'zero-downtime')).toMatchObject({ level: 'fail', fix: 'upgrade to 4.2.10 first' });
    expect(finding(from41, 'zero-downtime').message).toContain('4.4–4.6 refuse zero-downtime');
    expect(finding(from41, 'otp-secret')).toMatchObject({ level: 'fail', fix: 'upgrade to 4.3.23 first' });
    const from42 = plan('4.2.10', '4.7.0-alpha.1', { allowPrerelease: true });
    expect(finding(from42, 'zero-downtime').message).toContain('4.7 refuses');
    expect(finding(from42, 'zero-downtime').fix).toBe('upgrade to 4.3.23 first');
    expect(finding(plan('4.2.10', '4.4.0'), 'zero-downtime').level).toBe('ok');
    expect(finding(plan('4.2.10', '4.4.0'), 'otp-secret').level).toBe('fail');
    expect(plan('4.2.10', '4.3.23').some((f) => f.id === 'otp-secret')).toBe(false);
  });

  it.each([
    ['4.3.8', '4.4.22', '12.18', 'fail', /too old for Mastodon 4\.4\.22, which needs PostgreSQL 13\+/],
    ['4.4.22', '4.5.15', '13.21', 'fail', /needs PostgreSQL 14\+/],
    ['4.4.22', '4.5.15', 'PostgreSQL 14.3 (Debian 14.3-1.pgdg110+1)', 'fail', /14\.0–14\.3/],
    ['4.2.10', '4.3.23', '14.0', 'fail', /14\.0–14\.3/],
    ['4.2.10', '4.3.23', '12.4', 'ok', /PostgreSQL 12\.4 meets/],
    ['4.4.22', '4.5.15', '14.4', 'ok', /meets/],
    ['4.4.22', '4.5.15', undefined, 'warn', /PostgreSQL version unknown: Mastodon 4\.5\.15 needs PostgreSQL 14\+/],
    ['4.1.6', '4.2.10', '11.2', 'ok', /no PostgreSQL floor known/],
  ])('PostgreSQL floor: %s → %s on %s is %s', (current, target, pg, level, message) => {
    const f = finding(plan(current, target, { postgresVersion: pg }), 'postgres-version');
    expect(f.level).toBe(level);
    expect(f.message).toMatch(message);
    if (level !== 'ok') expect(f.fix).toBeTruthy();
  });

  it.each([
    ['4.3.23', '4.4.22', '6.0.16', 'fail', /Redis 6\.0 is too old .* needs Redis 6\.2\+/],
    ['4.3.23', '4.4.22', '6.2.14', 'ok', /meets Redis 6\.2\+/],
    ['4.5.15', '4.6.5', '6.2.14', 'fail', /needs Redis 7\.0\+/],
    ['4.5.15', '4.6.5', '7.0.15', 'ok', /meets/],
    ['4.5.15', '4.6.5', undefined, 'warn', /Redis version unknown/],
    ['4.2.10', '4.3.23', '5.0.7', 'ok', /no Redis floor known/],
  ])('Redis floor: %s → %s on %s is %s', (current, target, redis, level, message) => {
    const f = finding(plan(current, target, { redisVersion: redis }), 'redis-version');
    expect(f.level).toBe(level);
    expect(f.message).toMatch(message);
  });

  it('reminds about the env changes of 4.3 and 4.4 when crossing them', () => {
    const to43 = plan('4.2.10', '4.3.23');
    expect(finding(to43, 'active-record-encryption')).toMatchObject({ level: 'warn' });
    expect(finding(to43, 'active-record-encryption').fix).toContain('db:encryption:init');
    expect(to43.some((f) => f.id === 'redis-namespace')).toBe(false);
    expect(finding(plan('4.3.23', '4.4.22'), 'redis-namespace').level).toBe('warn');
    expect(plan('4.4.8', '4.5.15').some((f) => f.id === 'redis-namespace' || f.id === 'active-record-encryption')).toBe(
      false,
    );
    expect(envRequirementsCrossed('4.2.10', '4.4.0').map((r) => [r.id, r.requires.length, r.forbids])).toEqual([
      ['active-record-encryption', 3, []],
      ['redis-namespace', 0, ['REDIS_NAMESPACE']],
    ]);
    expect(envRequirementsCrossed('4.3.0-rc.1', '4.3.0')).toEqual([]);
  });
});

describe('suggestTargets', () => {
  it('offers the newest patch of the current series, then the next series, then the rest with reasons', () => {
    const s = suggestTargets('4.4.8', AVAILABLE);
    expect(s.slice(0, 2).map((x) => [x.version, x.kind, x.allowed])).toEqual([
      ['4.4.22', 'patch', true],
      ['4.5.15', 'next-series', true],
    ]);
    expect(s[0].reason).toContain('newest patch of 4.4');
    expect(s[1].reason).toContain('next series 4.5');
    expect(s.slice(2).map((x) => [x.version, x.allowed])).toEqual([
      ['4.5.3', true],
      ['4.5.0', true],
      ['4.4.10', true],
      ['4.6.5', false],
      ['4.6.0', false],
    ]);
    expect(s.find((x) => x.version === '4.5.3')?.reason).toBe('older patch of 4.5 (newest: 4.5.15)');
    expect(s.find((x) => x.version === '4.6.5')?.reason).toContain('skips series 4.5');
  });

  it('lists pre-releases only when asked, and nothing when up to date', () => {
    expect(suggestTargets('4.6.5', AVAILABLE)).toEqual([]);
    const pre = suggestTargets('4.6.5', AVAILABLE, { includePrerelease: true });
    expect(pre.map((x) => [x.version, x.kind, x.allowed, x.reason])).toEqual([
      ['4.7.0-alpha.1', 'other', true, 'pre-release of 4.7'],
    ]);
  });

  it('marks a headline choice refused by a code-enforced limit', () => {
    const s = suggestTargets('4.1.6', AVAILABLE);
    expect(s[0]).toMatchObject({ version: '4.2.10', kind: 'next-series', allowed: true });
    expect(suggestTargets('4.0.2', ['v4.0.2', 'v4.4.0']).map((x) => [x.version, x.allowed])).toEqual([
      ['4.4.0', false],
    ]);
  });
});
