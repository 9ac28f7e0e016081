import { describe, expect, it } from 'vitest';
import {
  compareRecipeVersions,
  parseRecipeVersion,
  sortRecipeVersionTexts,
  versionsInRange,
  type OrderedRecipeVersion,
} from '../../../src/drivers/abra/recipeVersion.js';

const ordered = (t: string) => parseRecipeVersion(t) as OrderedRecipeVersion;

describe('parseRecipeVersion', () => {
  it.each([
    ['2.0.1+1.0.6-social-amd64', { kind: 'release', semver: '2.0.1', upstream: '1.0.6-social-amd64' }],
    ['1.1.0+1.42.1', { kind: 'release', semver: '1.1.0', upstream: '1.42.1' }],
    ['3.0.0-beta.1+26.0.0', { kind: 'release', semver: '3.0.0-beta.1', upstream: '26.0.0' }],
    ['1.0.0', { kind: 'release', semver: '1.0.0', upstream: undefined }],
    ['1.35.0_2', { kind: 'legacy', upstream: '1.35.0', revision: 2 }],
    ['10.0.1-fpm_1', { kind: 'legacy', upstream: '10.0.1-fpm', revision: 1 }],
    ['0cf4aaa1', { kind: 'chaos', commit: '0cf4aaa1', dirty: false }],
    ['0cf4aaa1+U', { kind: 'chaos', commit: '0cf4aaa1', dirty: true }],
  ])('%s', (text, expected) => {
    expect(parseRecipeVersion(text)).toMatchObject({ text, ...expected });
  });

  it('tolerates a v prefix on the semver part', () => {
    expect(parseRecipeVersion('v2.0.1+1.0.6')).toMatchObject({ kind: 'release', semver: '2.0.1', upstream: '1.0.6' });
  });

  it.each(['latest', '2.0+1.0.6', '2.0.1+', 'main', '', '01.0.0+x'])('rejects %j', (text) => {
    expect(parseRecipeVersion(text)).toBeUndefined();
  });
});

describe('ordering', () => {
  it('orders by the semver part before "+", numerically, ignoring the upstream part', () => {
    const sorted = sortRecipeVersionTexts([
      '10.0.0+1.0.0',
      '2.0.1+1.0.6-social-amd64',
      '9.1.0+9.9.9',
      '2.0.0+1.0.5-social-amd64',
      '1.0.0+1.0.5-social-amd64',
      '2.0.0-rc.1+1.0.5-social-amd64',
    ]).map((v) => v.text);
    expect(sorted).toEqual([
      '1.0.0+1.0.5-social-amd64',
      '2.0.0-rc.1+1.0.5-social-amd64',
      '2.0.0+1.0.5-social-amd64',
      '2.0.1+1.0.6-social-amd64',
      '9.1.0+9.9.9',
      '10.0.0+1.0.0',
    ]);
  });

  it('puts old <upstream>_<n> tags before every semver release, ordered among themselves', () => {
    const sorted = sortRecipeVersionTexts([
      '0.1.0+1.36.0',
      '1.35.0_2',
      '1.9.0_1',
      '1.35.0_1',
      'chaos-ish',
      '0cf4aaa1',
    ]).map((v) => v.text);
    expect(sorted).toEqual(['1.9.0_1', '1.35.0_1', '1.35.0_2', '0.1.0+1.36.0']);
  });

  it('does not let the upstream part decide', () => {
    expect(compareRecipeVersions(ordered('1.1.0+1.41.0'), ordered('1.0.0+9.99.0'))).toBeGreaterThan(0);
    expect(compareRecipeVersions(ordered('1.1.0+1.41.0'), ordered('1.1.0+1.42.0'))).toBe(0);
  });

  it('selects the versions in (from, to]', () => {
    const all = sortRecipeVersionTexts(['1.0.0+a', '2.0.0+a', '2.0.1+b', '3.0.0+c']);
    expect(versionsInRange(all, ordered('1.0.0+a'), ordered('2.0.1+b')).map((v) => v.text)).toEqual([
      '2.0.0+a',
      '2.0.1+b',
    ]);
    expect(versionsInRange(all, undefined, ordered('2.0.0+a')).map((v) => v.text)).toEqual(['1.0.0+a', '2.0.0+a']);
    expect(versionsInRange(all, ordered('3.0.0+c'), ordered('3.0.0+c'))).toEqual([]);
  });
});
