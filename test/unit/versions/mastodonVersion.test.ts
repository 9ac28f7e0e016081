import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/kernel/errors.js';
import {
  compareMastodonVersions,
  displayOf,
  isStable,
  newestStable,
  parseMastodonVersion,
  semverOf,
  seriesOf,
  sortMastodonVersions,
  tagOf,
  tryParseMastodonVersion,
} from '../../../src/services/mastodon/version.js';

describe('parseMastodonVersion', () => {
  it.each([
    // text, semver, series, stable, metadata, tag, display
    ['v4.4.8', '4.4.8', '4.4', true, undefined, 'v4.4.8', '4.4.8'],
    ['4.4.8', '4.4.8', '4.4', true, undefined, 'v4.4.8', '4.4.8'],
    ['v4.4.10', '4.4.10', '4.4', true, undefined, 'v4.4.10', '4.4.10'],
    ['4.5.0-rc.1', '4.5.0-rc.1', '4.5', false, undefined, 'v4.5.0-rc.1', '4.5.0-rc.1'],
    ['4.3.0+glitch', '4.3.0', '4.3', true, 'glitch', 'v4.3.0', '4.3.0+glitch'],
    ['4.5.0+hometown-1.1.2', '4.5.0', '4.5', true, 'hometown-1.1.2', 'v4.5.0', '4.5.0+hometown-1.1.2'],
    ['v4.0.0rc1', '4.0.0-rc.1', '4.0', false, undefined, 'v4.0.0rc1', '4.0.0rc1'],
    ['v1.6.0rc5', '1.6.0-rc.5', '1.6', false, undefined, 'v1.6.0rc5', '1.6.0rc5'],
    ['v4.2.0-beta1', '4.2.0-beta.1', '4.2', false, undefined, 'v4.2.0-beta1', '4.2.0-beta1'],
    ['v4.2.0-rc1', '4.2.0-rc.1', '4.2', false, undefined, 'v4.2.0-rc1', '4.2.0-rc1'],
    ['v4.3.0-beta.1', '4.3.0-beta.1', '4.3', false, undefined, 'v4.3.0-beta.1', '4.3.0-beta.1'],
    ['v4.3.0-alpha.0', '4.3.0-alpha.0', '4.3', false, undefined, 'v4.3.0-alpha.0', '4.3.0-alpha.0'],
    ['4.4.0-rc.1+glitch', '4.4.0-rc.1', '4.4', false, 'glitch', 'v4.4.0-rc.1', '4.4.0-rc.1+glitch'],
  ])('%s', (text, semver, series, stable, metadata, tag, display) => {
    const v = parseMastodonVersion(text);
    expect(semverOf(v)).toBe(semver);
    expect(seriesOf(v)).toBe(series);
    expect(v.stable).toBe(stable);
    expect(isStable(text)).toBe(stable);
    expect(v.metadata).toBe(metadata);
    expect(tagOf(v)).toBe(tag);
    expect(displayOf(v)).toBe(display);
  });

  it.each([
    '',
    'latest',
    'v4',
    '4.4',
    '4.4.8.1',
    '1.4.0.2',
    'v4.4.8-',
    '4.4.8+',
    '4.4.8+a+b',
    '04.4.8',
    '-4.4.8',
    '4.4.8; rm -rf /',
    'stable-4.4',
  ])('rejects %j with an InputError naming the source (exit 2)', (text) => {
    expect(tryParseMastodonVersion(text)).toBeUndefined();
    let err: unknown;
    try {
      parseMastodonVersion(text, '--to');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(2);
    expect((err as InputError).message).toMatch(/^--to: /);
  });
});

describe('stability', () => {
  it('never calls a beta or alpha stable (the `grep -v rc` bug)', () => {
    const tags = ['v4.2.0-beta2', 'v4.2.0-beta3', 'v4.2.0-rc1', 'v4.1.6', 'v4.3.0-alpha.5', 'v4.3.0-beta.2'];
    const naive = tags
      .filter((t) => !t.includes('rc'))
      .sort()
      .at(-1);
    expect(naive).toBe('v4.3.0-beta.2');
    const parsed = tags.map((t) => parseMastodonVersion(t));
    expect(parsed.filter((v) => v.stable).map(tagOf)).toEqual(['v4.1.6']);
    expect(tagOf(newestStable(parsed)!)).toBe('v4.1.6');
  });

  it('judges stability before the metadata', () => {
    expect(isStable('4.3.0+glitch')).toBe(true);
    expect(isStable('4.3.0-beta.1+glitch')).toBe(false);
    expect(isStable('v4.0.0rc1')).toBe(false);
  });
});

describe('ordering', () => {
  const cmp = (a: string, b: string) => compareMastodonVersions(parseMastodonVersion(a), parseMastodonVersion(b));

  it('follows semver precedence across all tag styles', () => {
    expect(cmp('v4.4.10', 'v4.4.9')).toBe(1);
    expect(cmp('v4.0.0rc1', 'v4.0.0')).toBe(-1);
    expect(cmp('v4.0.0rc2', 'v4.0.0rc1')).toBe(1);
    expect(cmp('v4.2.0-beta3', 'v4.2.0-rc1')).toBe(-1);
    expect(cmp('v4.3.0-alpha.5', 'v4.3.0-beta.1')).toBe(-1);
    expect(cmp('v4.2.0-rc1', '4.2.0-rc.1')).toBe(0);
    expect(cmp('4.3.0+glitch', 'v4.3.0')).toBe(0);
    expect(cmp('4.5.0-rc.3', '4.4.22')).toBe(1);
  });

  it('sorts parallel series by version, not by release date', () => {
    // In release-date order, as upstream published them in 2026.
    const byDate = ['4.5.13', '4.4.20', '4.6.0', '4.5.15', '4.4.22', '4.6.5', '4.7.0-alpha.1', '4.6.0-rc.2', '4.3.23'];
    const sorted = sortMastodonVersions(
      byDate.map((t) => parseMastodonVersion(t)),
      'desc',
    ).map(displayOf);
    expect(sorted).toEqual([
      '4.7.0-alpha.1',
      '4.6.5',
      '4.6.0',
      '4.6.0-rc.2',
      '4.5.15',
      '4.5.13',
      '4.4.22',
      '4.4.20',
      '4.3.23',
    ]);
    const all = byDate.map((t) => parseMastodonVersion(t));
    expect(displayOf(newestStable(all, '4.4')!)).toBe('4.4.22');
    expect(displayOf(newestStable(all, '4.5')!)).toBe('4.5.15');
    expect(newestStable(all, '4.7')).toBeUndefined();
  });
});
