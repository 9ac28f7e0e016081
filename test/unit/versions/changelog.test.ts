import { describe, expect, it } from 'vitest';
import { notesBetween, parseChangelog, sectionFor, subsection } from '../../../src/services/mastodon/changelog.js';
import { parseMastodonVersion } from '../../../src/services/mastodon/version.js';

// Upstream's format: `## [X.Y.Z] - date`, `### Security|Added|Changed|Fixed|Removed`, bullets with PR numbers.
const CHANGELOG = `# Changelog

All notable changes to this project will be documented in this file.

## [Unreleased]

- Work in progress that belongs to no version

## [4.5.1] - 2025-11-13

### Fixed

- Fix \`tootctl upgrade storage-schema\` failing with \`ArgumentError\` (#36914 by @shugo)

## [4.5.0] - 2025-11-06

### Upgrade notes

- PostgreSQL 14 is now required.

\`\`\`sh
## not a heading: inside a code fence
### neither is this
\`\`\`

### Added

- **Add support for allowing and authoring quotes** (#35355 by @ClearlyClaire)

### Removed

- Remove support for PostgreSQL 13 (#36540 by @renchap)

## [4.4.8] - 2025-10-21

### Security

- Fix quote control bypass ([GHSA-8h43-rcqj-wpc6](https://github.com/mastodon/mastodon/security/advisories/GHSA-8h43-rcqj-wpc6))

## [4.4.7] - 2025-10-15

### Fixed

- Fix moderation warning e-mails that include posts (#36462 by @ClearlyClaire)

## 4.4.6 - 2025-10-13

This release fixes a vulnerability in the streaming server; update as soon as possible.

### Fixed

- Fix quotes not being displayed in email notifications (#36379 by @diondiondion)

## [4.4.5]

### Changed

- Change quoted posts from silenced accounts to use a click-through (#36166 by @ClearlyClaire)

_For previous changes, review the [stable-4.3 branch](https://github.com/mastodon/mastodon/blob/stable-4.3/CHANGELOG.md)_
`;

describe('parseChangelog', () => {
  const sections = parseChangelog(CHANGELOG);

  it('finds one section per version heading, in file order, both heading forms, skipping non-versions', () => {
    expect(sections.map((s) => [s.version, s.date])).toEqual([
      ['4.5.1', '2025-11-13'],
      ['4.5.0', '2025-11-06'],
      ['4.4.8', '2025-10-21'],
      ['4.4.7', '2025-10-15'],
      ['4.4.6', '2025-10-13'],
      ['4.4.5', undefined],
    ]);
    expect(sections.map((s) => s.text).join('\n')).not.toContain('Work in progress');
  });

  it('splits subsections and ignores headings inside code fences', () => {
    const s450 = sections[1];
    expect(s450.subsections.map((s) => s.title)).toEqual(['Upgrade notes', 'Added', 'Removed']);
    expect(subsection(s450, 'upgrade notes')?.text).toContain('PostgreSQL 14 is now required.');
    expect(subsection(s450, 'upgrade notes')?.text).toContain('## not a heading: inside a code fence');
    expect(subsection(s450, 'Removed')?.text).toBe('- Remove support for PostgreSQL 13 (#36540 by @renchap)');
    expect(s450.text.startsWith('### Upgrade notes')).toBe(true);
  });

  it('flags security releases from a Security subsection or the opening text', () => {
    expect(Object.fromEntries(sections.map((s) => [s.version, s.security]))).toEqual({
      '4.5.1': false,
      '4.5.0': false,
      '4.4.8': true,
      '4.4.7': false,
      '4.4.6': true,
      '4.4.5': false,
    });
    expect(sections[4].opening).toMatch(/^This release fixes a vulnerability/);
  });

  it('handles CRLF line endings', () => {
    const crlf = parseChangelog(CHANGELOG.replace(/\n/g, '\r\n'));
    expect(crlf.map((s) => s.version)).toEqual(sections.map((s) => s.version));
    expect(crlf[2].subsections[0].title).toBe('Security');
  });
});

describe('notesBetween', () => {
  const sections = parseChangelog(CHANGELOG);

  it('returns every version in (from, to], newest first', () => {
    expect(notesBetween(sections, '4.4.6', '4.5.0').map((s) => s.version)).toEqual(['4.5.0', '4.4.8', '4.4.7']);
    expect(notesBetween(sections, parseMastodonVersion('4.4.8'), '4.4.8')).toEqual([]);
    expect(notesBetween(sections, '4.4.7+glitch', 'v4.5.1').map((s) => s.version)).toEqual(['4.5.1', '4.5.0', '4.4.8']);
  });

  it('finds the section of one version', () => {
    expect(sectionFor(sections, parseMastodonVersion('v4.4.8'))?.date).toBe('2025-10-21');
    expect(sectionFor(sections, parseMastodonVersion('4.3.0'))).toBeUndefined();
  });
});
