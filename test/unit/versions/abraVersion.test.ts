import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/kernel/errors.js';
import {
  abraTagOf,
  compareAbraVersions,
  displayAbraVersion,
  isAbraPrerelease,
  parseAbraVersion,
  sortAbraVersions,
  tryParseAbraVersion,
} from '../../../src/versions/abraVersion.js';

describe('parseAbraVersion', () => {
  it.each([
    ['2.0.1+1.0.6-social-amd64', 'release', '2.0.1+1.0.6-social-amd64'],
    ['1.0.0+1.0.5-social-amd64', 'release', '1.0.0+1.0.5-social-amd64'],
    ['1.2.0+26.1.2', 'release', '1.2.0+26.1.2'],
    ['0.3.0+1.39.1', 'release', '0.3.0+1.39.1'],
    ['3.0.0-beta.1+2.0.0', 'release', '3.0.0-beta.1+2.0.0'],
    ['1.39.1_2', 'legacy', '1.39.1_2'],
    ['v5.1.0_0', 'legacy', 'v5.1.0_0'],
    ['a1b2c3d4', 'chaos', 'a1b2c3d4 (chaos)'],
    ['0e7f9a2c+U', 'chaos', '0e7f9a2c (chaos, unstaged changes)'],
  ])('%s is a %s version shown as %s', (text, kind, shown) => {
    const v = parseAbraVersion(text);
    expect(v.kind).toBe(kind);
    expect(displayAbraVersion(v)).toBe(shown);
  });

  it('keeps the upstream part and the revision', () => {
    expect(parseAbraVersion('2.0.1+1.0.6-social-amd64')).toMatchObject({
      recipe: { major: 2, minor: 0, patch: 1 },
      upstream: '1.0.6-social-amd64',
    });
    expect(parseAbraVersion('1.39.1_2')).toMatchObject({ upstream: '1.39.1', revision: 2 });
    expect(isAbraPrerelease(parseAbraVersion('3.0.0-beta.1+2.0.0'))).toBe(true);
    expect(isAbraPrerelease(parseAbraVersion('2.0.1+1.0.6-social-amd64'))).toBe(false);
    expect(abraTagOf(parseAbraVersion('2.0.1+1.0.6-social-amd64'))).toBe('2.0.1+1.0.6-social-amd64');
    expect(abraTagOf(parseAbraVersion('a1b2c3d4'))).toBeUndefined();
  });

  it.each(['', 'latest', 'A1B2C3D4', 'a1b2c3d', '2.0+1.0.6', '2.0.1+', '2.0.1+a b', '_2', '--force'])(
    'rejects %j naming the source',
    (text) => {
      expect(tryParseAbraVersion(text)).toBeUndefined();
      expect(() => parseAbraVersion(text, 'abra app ls')).toThrow(InputError);
      expect(() => parseAbraVersion(text, 'abra app ls')).toThrow(/^abra app ls: /);
    },
  );
});

describe('ordering', () => {
  const v = (t: string) => parseAbraVersion(t);

  it('orders releases by the recipe semver only, whatever the upstream part says', () => {
    expect(compareAbraVersions(v('2.0.0+1.0.5-social-amd64'), v('1.0.0+1.0.5-social-amd64'))).toBe(1);
    expect(compareAbraVersions(v('2.0.1+1.0.6-social-amd64'), v('2.0.0+1.0.5-social-amd64'))).toBe(1);
    // The recipe version decides even when the upstream part goes down.
    expect(compareAbraVersions(v('1.1.0+0.9.0'), v('1.0.0+2.0.0'))).toBe(1);
    expect(compareAbraVersions(v('1.0.0+a'), v('1.0.0+b'))).toBe(0);
    expect(compareAbraVersions(v('3.0.0-beta.1+2.0.0'), v('3.0.0+2.0.0'))).toBe(-1);
  });

  it('orders legacy versions by upstream then revision, below every release', () => {
    expect(compareAbraVersions(v('1.39.1_2'), v('1.39.1_1'))).toBe(1);
    expect(compareAbraVersions(v('1.10.0_0'), v('1.9.3_4'))).toBe(1);
    expect(compareAbraVersions(v('9.9.9_9'), v('0.1.0+1.0.0'))).toBe(-1);
  });

  it('cannot place a chaos commit among releases', () => {
    expect(compareAbraVersions(v('a1b2c3d4'), v('2.0.1+1.0.6-social-amd64'))).toBeUndefined();
    expect(compareAbraVersions(v('a1b2c3d4'), v('a1b2c3d4+U'))).toBe(0);
    expect(compareAbraVersions(v('a1b2c3d4'), v('0e7f9a2c'))).toBeUndefined();
  });

  it('sorts the orderable versions and leaves chaos out', () => {
    const list = [
      '2.0.1+1.0.6-social-amd64',
      'a1b2c3d4',
      '1.0.0+1.0.5-social-amd64',
      '1.0.5_1',
      '2.0.0+1.0.5-social-amd64',
    ].map(v);
    expect(sortAbraVersions(list, 'desc').map((x) => x.raw)).toEqual([
      '2.0.1+1.0.6-social-amd64',
      '2.0.0+1.0.5-social-amd64',
      '1.0.0+1.0.5-social-amd64',
      '1.0.5_1',
    ]);
  });
});
