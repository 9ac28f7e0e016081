import { describe, expect, it } from 'vitest';
import { ExitCode, ToolOutputError } from '../../../src/kernel/errors.js';
import { parseAppList } from '../../../src/drivers/abra/appList.js';

const REFERENCE = JSON.stringify({
  'hypha.social.coop': {
    apps: [
      {
        server: 'hypha.social.coop',
        recipe: 'bonfire',
        appName: 'bonfire_social_coop',
        domain: 'bonfire.social.coop',
        status: 'deployed',
        chaos: 'false',
        chaosVersion: 'unknown',
        autoUpdate: 'false',
        version: '2.0.0+1.0.5-social-amd64',
        upgrade: '2.0.1+1.0.6-social-amd64',
      },
    ],
    appCount: 1,
    versionCount: 1,
    unversionedCount: 0,
    latestCount: 0,
    upgradeCount: 1,
  },
});

function caught(fn: () => unknown): ToolOutputError {
  try {
    fn();
  } catch (err) {
    return err as ToolOutputError;
  }
  throw new Error('expected a failure');
}

describe('parseAppList', () => {
  it('reads the documented shape', () => {
    expect(parseAppList(REFERENCE)).toEqual([
      {
        server: 'hypha.social.coop',
        recipe: 'bonfire',
        appName: 'bonfire_social_coop',
        domain: 'bonfire.social.coop',
        status: 'deployed',
        chaos: false,
        chaosVersion: 'unknown',
        autoUpdate: false,
        version: '2.0.0+1.0.5-social-amd64',
        upgrade: { kind: 'available', versions: ['2.0.1+1.0.6-social-amd64'] },
      },
    ]);
  });

  it('splits newline-joined upgrades and knows "latest" and "unknown"', () => {
    const doc = (upgrade: string, version = '1.0.0+x') =>
      JSON.stringify({ s: { apps: [{ domain: 'a.b', version, upgrade }] } });
    expect(parseAppList(doc('2.0.0+x\n2.0.1+y'))[0].upgrade).toEqual({
      kind: 'available',
      versions: ['2.0.0+x', '2.0.1+y'],
    });
    expect(parseAppList(doc('latest'))[0].upgrade).toEqual({ kind: 'latest' });
    expect(parseAppList(doc('unknown', 'unknown'))[0]).toMatchObject({
      upgrade: { kind: 'unknown' },
      version: undefined,
    });
  });

  it('ignores unknown keys, leaves missing ones undefined, and takes the server from the key', () => {
    const [app] = parseAppList(
      JSON.stringify({ hypha: { apps: [{ domain: 'wiki.x', shinyNewKey: { a: 1 }, chaos: true }], extra: 3 } }),
    );
    expect(app).toEqual({
      server: 'hypha',
      recipe: undefined,
      appName: undefined,
      domain: 'wiki.x',
      status: undefined,
      chaos: true,
      chaosVersion: undefined,
      autoUpdate: undefined,
      version: undefined,
      upgrade: undefined,
    });
  });

  it('accepts a server with no apps, and several servers', () => {
    expect(parseAppList('{"a":{"apps":[]},"b":{"appCount":0}}')).toEqual([]);
    const apps = parseAppList('{"a":{"apps":[{"domain":"x.a"}]},"b":{"apps":[{"domain":"y.b"}]}}');
    expect(apps.map((a) => [a.server, a.domain])).toEqual([
      ['a', 'x.a'],
      ['b', 'y.b'],
    ]);
  });

  it.each([
    ['not JSON at all', 'FATA something went wrong\n', /not JSON/],
    ['a log line before the JSON', 'INFO fetching\n{"a":{"apps":[]}}', /not JSON/],
    ['a list', '[]', /object keyed by server/],
    ['apps not a list', '{"a":{"apps":{"domain":"x"}}}', /"apps" of server "a" is not a list/],
    ['an app that is not an object', '{"a":{"apps":["bonfire"]}}', /server "a": an app entry is not an object/],
    ['empty output', '', /not JSON/],
  ])('refuses %s with a ToolOutputError naming abra and quoting the output', (_name, stdout, message) => {
    const err = caught(() => parseAppList(stdout));
    expect(err).toBeInstanceOf(ToolOutputError);
    expect(err.exitCode).toBe(ExitCode.badInput);
    expect(err.message).toMatch(/^abra app ls -S -m: /);
    expect(err.message).toMatch(message);
    expect(err.hints[0]).toContain(stdout.trim().slice(0, 20) || '(no output)');
  });

  it('keeps the excerpt short', () => {
    const err = caught(() => parseAppList('x'.repeat(5000)));
    expect(err.hints[0].length).toBeLessThan(300);
  });
});
