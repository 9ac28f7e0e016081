import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_TAGS, createMastodonUpstream } from '../../world/mastodon/upstream.js';

let dir: string;
let repo: string;

const git = (...args: string[]) =>
  execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const show = (tag: string, file: string) => git('show', `${tag}:${file}`);
const files = (tag: string, under: string) =>
  git('ls-tree', '--name-only', `${tag}:${under}`).split('\n').filter(Boolean);
const sections = (changelog: string) =>
  [...changelog.matchAll(/^## \[([^\]]+)\] - (\d{4}-\d\d-\d\d)$/gm)].map((m) => m[1]);
const section = (changelog: string, version: string) =>
  changelog.split(/^## /m).find((s) => s.startsWith(`[${version}]`)) ?? '';

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
  const started = Date.now();
  repo = await createMastodonUpstream(path.join(dir, 'upstream', 'mastodon.git'));
  expect(Date.now() - started).toBeLessThan(5000);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fixture Mastodon upstream', () => {
  it('is listed by git ls-remote with upstream-style annotated tags', () => {
    const refs = execFileSync('git', ['ls-remote', '--tags', '--refs', repo], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.split('\t')[1]);
    expect(refs.sort()).toEqual(
      ['v4.3.8', 'v4.4.7', 'v4.4.8', 'v4.5.0', 'v4.5.0-rc.1', 'v4.5.1', 'v4.6.0'].map((t) => `refs/tags/${t}`).sort(),
    );
    expect(FIXTURE_TAGS).toEqual(['v4.3.8', 'v4.4.7', 'v4.4.8', 'v4.5.0-rc.1', 'v4.5.0', 'v4.5.1', 'v4.6.0']);
    expect(git('cat-file', '-t', 'v4.4.8').trim()).toBe('tag');
    expect(git('log', '-1', '--format=%s', 'v4.4.8^{commit}').trim()).toBe('Bump version to v4.4.8');
    expect(git('log', '-1', '--format=%aI', 'v4.4.8^{commit}').trim()).toBe('2025-10-21T15:12:37+02:00');
  });

  it('can be cloned, and building it again gives the same tags', async () => {
    execFileSync('git', ['clone', '-q', repo, path.join(dir, 'clone')]);
    expect(
      execFileSync('git', ['-C', path.join(dir, 'clone'), 'describe', '--tags'], { encoding: 'utf8' }).trim(),
    ).toBe('v4.6.0');
    const again = await createMastodonUpstream(path.join(dir, 'again.git'));
    const tags = (r: string) => execFileSync('git', ['ls-remote', '--tags', '--refs', r], { encoding: 'utf8' });
    expect(tags(again)).toBe(tags(repo));
    // Calling it on an existing repository leaves it alone.
    expect(await createMastodonUpstream(repo)).toBe(repo);
    expect(tags(repo)).toBe(tags(again));
  });

  it('carries version.rb in upstream shape, with prereleases in default_prerelease', () => {
    const rb = show('v4.4.8', 'lib/mastodon/version.rb');
    expect(rb).toMatch(/def major\s+4\s+end/);
    expect(rb).toMatch(/def minor\s+4\s+end/);
    expect(rb).toMatch(/def patch\s+8\s+end/);
    expect(rb).toMatch(/def default_prerelease\s+''\s+end/);
    expect(rb).toContain('version_configuration[:prerelease].presence || default_prerelease');
    expect(show('v4.5.0-rc.1', 'lib/mastodon/version.rb')).toMatch(/def default_prerelease\s+'rc\.1'\s+end/);
    expect(show('v4.6.0', 'lib/mastodon/version.rb')).toMatch(/def minor\s+6\s+end/);
  });

  it('has a CHANGELOG with every released version up to the tag, newest first', () => {
    expect(sections(show('v4.3.8', 'CHANGELOG.md'))).toEqual(['4.3.8']);
    expect(sections(show('v4.4.8', 'CHANGELOG.md'))).toEqual(['4.4.8', '4.4.7', '4.3.8']);
    expect(sections(show('v4.5.0-rc.1', 'CHANGELOG.md'))).toEqual(['4.4.8', '4.4.7', '4.3.8']);
    const latest = show('v4.6.0', 'CHANGELOG.md');
    expect(
      latest.startsWith(
        '# Changelog\n\nAll notable changes to this project will be documented in this file.\n\n## [4.6.0] - 2026-06-17\n',
      ),
    ).toBe(true);
    expect(sections(latest)).toEqual(['4.6.0', '4.5.1', '4.5.0', '4.4.8', '4.4.7', '4.3.8']);
  });

  it('marks 4.4.8 and 4.5.1 (only) as security releases and notes the PostgreSQL floor in 4.5.0', () => {
    const changelog = show('v4.6.0', 'CHANGELOG.md');
    const security = ['4.6.0', '4.5.1', '4.5.0', '4.4.8', '4.4.7', '4.3.8'].filter((v) =>
      section(changelog, v).includes('### Security'),
    );
    expect(security).toEqual(['4.5.1', '4.4.8']);
    expect(section(changelog, '4.4.8')).toContain('GHSA-8h43-rcqj-wpc6');
    expect(section(changelog, '4.5.0')).toMatch(
      /### Removed\n\n- Remove support for PostgreSQL 13: PostgreSQL 14 or newer is now required/,
    );
    for (const v of ['4.5.0', '4.5.1', '4.6.0']) expect(section(changelog, v)).toMatch(/^- .+ \(#\d+.* by @\w+/m);
  });

  it('adds pre- and post-deployment migrations per release', () => {
    const base = [
      '20160220174730_create_accounts.sql',
      '20160221003140_create_users.sql',
      '20160222143943_create_statuses.sql',
    ];
    expect(files('v4.3.8', 'db/migrate')).toEqual([...base, '20240909014637_add_attribution_domains_to_accounts.sql']);
    expect(() => files('v4.4.7', 'db/post_migrate')).toThrow();
    expect(files('v4.4.8', 'db/post_migrate')).toEqual(['20251017093000_add_index_statuses_on_account_id_id.sql']);
    const pre450 = files('v4.5.0', 'db/migrate').filter((f) => !files('v4.4.8', 'db/migrate').includes(f));
    expect(pre450).toEqual([
      '20250806104800_create_quotes.sql',
      '20250822124818_add_quote_approval_policy_to_statuses.sql',
    ]);
    expect(files('v4.5.0', 'db/post_migrate')).toContain('20250905140000_remove_legacy_otp_secret_from_users.sql');
    expect(show('v4.5.0', 'db/post_migrate/20250905140000_remove_legacy_otp_secret_from_users.sql')).toContain(
      'DROP COLUMN otp_secret',
    );
    expect(files('v4.5.1', 'db/migrate').length).toBe(files('v4.5.0', 'db/migrate').length + 1);
    expect(files('v4.6.0', 'db/migrate').length).toBe(files('v4.5.1', 'db/migrate').length + 1);
    for (const f of [...files('v4.6.0', 'db/migrate'), ...files('v4.6.0', 'db/post_migrate')])
      expect(f).toMatch(/^\d{14}_[a-z0-9_]+\.sql$/);
    expect(show('v4.3.8', 'db/migrate/20160220174730_create_accounts.sql')).toContain(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY)',
    );
  });

  it('has the post-length validator, .ruby-version and a README at every tag', () => {
    for (const tag of FIXTURE_TAGS) {
      expect(show(tag, 'app/validators/status_length_validator.rb')).toMatch(
        /^class StatusLengthValidator < ActiveModel::Validator\n {2}MAX_CHARS = 500$/m,
      );
      expect(show(tag, '.ruby-version')).toMatch(/^3\.\d+\.\d+\n$/);
      expect(show(tag, 'README.md')).toContain('Mastodon');
    }
    expect(show('v4.3.8', '.ruby-version')).not.toBe(show('v4.4.7', '.ruby-version'));
  });
});
