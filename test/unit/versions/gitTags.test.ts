import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, RemoteError } from '../../../src/kernel/errors.js';
import { ExecaRunner, type ProcessRunner, type RunOptions } from '../../../src/kernel/process.js';
import {
  groupBySeries,
  listMastodonTags,
  listMastodonVersions,
  tagFor,
} from '../../../src/services/mastodon/catalog.js';
import {
  ensureMirror,
  listRemoteTags,
  mirrorDir,
  normalizeGitUrl,
  readFileAtTag,
  type GitSourceOptions,
} from '../../../src/versions/gitTags.js';

/** The real runner, in dry-run mode (so only `mutates: false` calls run), remembering each git subcommand. */
class RecordingRunner implements ProcessRunner {
  readonly dryRun = true;
  readonly calls: string[][] = [];
  private readonly inner = new ExecaRunner(true);
  run(file: string, args: readonly string[], opts: RunOptions) {
    this.calls.push([file, ...args]);
    return this.inner.run(file, args, opts);
  }
  subcommands(): string[] {
    return this.calls.map((c) => (c[1] === '-C' ? c[3] : c[1]));
  }
}

const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Upstream',
  GIT_AUTHOR_EMAIL: 'upstream@example.org',
  GIT_COMMITTER_NAME: 'Upstream',
  GIT_COMMITTER_EMAIL: 'upstream@example.org',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' });
}

function section(version: string, date: string, body: string): string {
  return `## [${version}] - ${date}\n\n${body}\n`;
}

const S = {
  '4.3.0': section(
    '4.3.0',
    '2024-10-08',
    '### Added\n\n- **Add notifications of severed relationships** (#27511 by @ClearlyClaire)',
  ),
  '4.4.0': section(
    '4.4.0',
    '2025-07-08',
    '### Added\n\n- **Add “Followers you know” widget to user profiles** (#34652 by @diondiondion)',
  ),
  '4.4.8': section(
    '4.4.8',
    '2025-10-21',
    '### Security\n\n- Fix quote control bypass ([GHSA-8h43-rcqj-wpc6](https://github.com/mastodon/mastodon/security/advisories/GHSA-8h43-rcqj-wpc6))',
  ),
  '4.4.9': section(
    '4.4.9',
    '2025-11-20',
    '### Security\n\n- Fix SSRF protection bypass ([GHSA-xfrj-c749-jxxq](https://github.com/mastodon/mastodon/security/advisories/GHSA-xfrj-c749-jxxq))',
  ),
  '4.5.0': section(
    '4.5.0',
    '2025-11-06',
    '### Added\n\n- **Add support for allowing and authoring quotes** (#35355 by @ClearlyClaire)',
  ),
  '4.5.2': section(
    '4.5.2',
    '2025-11-20',
    '### Fixed\n\n- Fix error when viewing statuses to deleted replies (#32986 by @ClearlyClaire)',
  ),
};

/** Writes CHANGELOG.md with the given sections (newest first), commits, tags (annotated unless `light`). */
function release(
  repo: string,
  tag: string,
  sections: string[],
  opts: { light?: boolean; validator?: string } = {},
): void {
  fs.writeFileSync(
    path.join(repo, 'CHANGELOG.md'),
    `# Changelog\n\nAll notable changes to this project will be documented in this file.\n\n${sections.join('\n')}`,
  );
  if (opts.validator) {
    fs.mkdirSync(path.join(repo, 'app/validators'), { recursive: true });
    fs.writeFileSync(
      path.join(repo, 'app/validators/status_length_validator.rb'),
      `class StatusLengthValidator < ActiveModel::Validator\n  MAX_CHARS = ${opts.validator}\nend\n`,
    );
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '--allow-empty', '-m', `Bump version to ${tag}`);
  if (opts.light) git(repo, 'tag', tag);
  else git(repo, 'tag', '-a', tag, '-m', tag);
}

let tmp: string;
let upstream: string;
let cache: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
  upstream = path.join(tmp, 'mastodon');
  cache = path.join(tmp, 'cache');
  fs.mkdirSync(upstream);
  git(upstream, 'init', '-q', '-b', 'main');
  release(upstream, 'v4.0.0rc1', [], { light: true });
  release(upstream, 'v4.2.0-beta1', []);
  release(upstream, 'v4.3.0-beta.1', []);
  release(upstream, 'v4.3.0-rc.1', []);
  release(upstream, 'v4.3.0', [S['4.3.0']], { validator: '500' });
  release(upstream, 'v4.4.0-beta.1', [S['4.3.0']]);
  release(upstream, 'v4.4.0', [S['4.4.0'], S['4.3.0']]);
  release(upstream, 'v4.4.8', [S['4.4.8'], S['4.4.0']], { light: true });
  git(upstream, 'branch', 'stable-4.4');
  release(upstream, 'v4.5.0', [S['4.5.0'], S['4.4.8'], S['4.4.0']]);
  release(upstream, 'v4.5.2', [S['4.5.2'], S['4.5.0'], S['4.4.8'], S['4.4.0']]);
  git(upstream, 'tag', 'latest');
  git(upstream, 'tag', 'v4.3.0+glitch');
  // A patch of the older series, released from its own branch after 4.5.0: main's CHANGELOG never has it.
  git(upstream, 'checkout', '-q', 'stable-4.4');
  release(upstream, 'v4.4.9', [S['4.4.9'], S['4.4.8'], S['4.4.0']]);
  git(upstream, 'checkout', '-q', 'main');
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function options(runner: ProcessRunner, extra: Partial<GitSourceOptions> = {}): GitSourceOptions {
  return { runner, env: { XDG_CACHE_HOME: cache }, timeoutMs: 10_000, ...extra };
}

describe('listing tags with ls-remote', () => {
  it('lists every tag and keeps only versions, ascending, stable ones strictly stable', async () => {
    const runner = new RecordingRunner();
    const all = await listRemoteTags(options(runner), upstream);
    expect(all.map((t) => t.name)).toContain('latest');
    expect(all.every((t) => /^[0-9a-f]{40}$/.test(t.object))).toBe(true);
    const tags = await listMastodonTags(options(runner), upstream);
    expect(tags.map((t) => t.name)).toEqual([
      'v4.0.0rc1',
      'v4.2.0-beta1',
      'v4.3.0-beta.1',
      'v4.3.0-rc.1',
      'v4.3.0',
      'v4.4.0-beta.1',
      'v4.4.0',
      'v4.4.8',
      'v4.4.9',
      'v4.5.0',
      'v4.5.2',
    ]);
    expect(tags.filter((t) => t.version.stable).map((t) => t.name)).toEqual([
      'v4.3.0',
      'v4.4.0',
      'v4.4.8',
      'v4.4.9',
      'v4.5.0',
      'v4.5.2',
    ]);
    expect(runner.calls[0]).toEqual(['git', 'ls-remote', '--tags', '--refs', upstream]);
    // Nothing was cloned: ls-remote needs no local copy.
    expect(fs.existsSync(cache)).toBe(false);
  });

  it('refuses option-like and remote-helper URLs before running git', () => {
    for (const bad of [
      '--upload-pack=touch /tmp/x',
      'ext::sh -c touch% /tmp/pwned',
      'fd::17',
      'ftp://example.org/x.git',
      '',
    ]) {
      expect(() => normalizeGitUrl(bad)).toThrow(InputError);
    }
    expect(normalizeGitUrl('https://github.com/mastodon/mastodon.git')).toBe(
      'https://github.com/mastodon/mastodon.git',
    );
    expect(normalizeGitUrl('git@github.com:mastodon/mastodon.git')).toBe('git@github.com:mastodon/mastodon.git');
    expect(normalizeGitUrl('relative/repo')).toBe(path.resolve('relative/repo'));
  });

  it('reports an unreachable repository as a RemoteError (exit 1)', async () => {
    const err = await listMastodonTags(options(new RecordingRunner()), path.join(tmp, 'missing')).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).exitCode).toBe(1);
    expect((err as RemoteError).message).toContain(`cannot list the tags of ${path.join(tmp, 'missing')}`);
  });
});

describe('reading files at a tag through the cached mirror', () => {
  it('clones once into $XDG_CACHE_HOME/coopctl/repos/<sha256(url)>, then reads without fetching within the TTL', async () => {
    const runner = new RecordingRunner();
    let now = Date.parse('2026-08-10T12:00:00Z');
    const opts = options(runner, { now: () => now, ttlMs: 60_000 });
    const dir = path.join(cache, 'coopctl', 'repos', createHash('sha256').update(upstream).digest('hex'));
    expect(mirrorDir(upstream, opts.env)).toBe(dir);

    const validator = await readFileAtTag(opts, upstream, 'v4.3.0', 'app/validators/status_length_validator.rb');
    expect(validator).toBe('class StatusLengthValidator < ActiveModel::Validator\n  MAX_CHARS = 500\nend\n');
    expect(fs.existsSync(path.join(dir, 'HEAD'))).toBe(true);
    expect(runner.subcommands()).toContain('clone');

    runner.calls.length = 0;
    expect(await readFileAtTag(opts, upstream, 'v4.4.8', 'CHANGELOG.md')).toContain('## [4.4.8] - 2025-10-21');
    expect(
      await readFileAtTag(opts, upstream, 'v4.0.0rc1', 'app/validators/status_length_validator.rb'),
    ).toBeUndefined();
    expect(await readFileAtTag(opts, upstream, 'v4.3.0', 'app/validators')).toBeUndefined();
    expect(runner.subcommands()).not.toContain('fetch');
    expect(runner.subcommands()).not.toContain('clone');

    now += 61_000;
    runner.calls.length = 0;
    await readFileAtTag(opts, upstream, 'v4.4.8', 'CHANGELOG.md');
    expect(runner.subcommands().filter((c) => c === 'fetch')).toHaveLength(1);
  });

  it('refetches for a tag the mirror has not seen, prunes deleted tags, and refuses unknown ones', async () => {
    const runner = new RecordingRunner();
    const opts = options(runner, { ttlMs: 3_600_000 });
    await ensureMirror(opts, upstream);
    git(upstream, 'tag', '-a', 'v4.5.3', '-m', 'v4.5.3');
    runner.calls.length = 0;
    expect(await readFileAtTag(opts, upstream, 'v4.5.3', 'CHANGELOG.md')).toContain('## [4.5.2]');
    expect(runner.subcommands().filter((c) => c === 'fetch')).toHaveLength(1);

    git(upstream, 'tag', '-d', 'v4.5.3');
    await ensureMirror(opts, upstream, true);
    const err = await readFileAtTag(opts, upstream, 'v4.5.3', 'CHANGELOG.md').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toContain(`tag v4.5.3 not found in ${upstream}`);
    await expect(readFileAtTag(opts, upstream, 'v4.4.8', '../../etc/passwd')).rejects.toThrow(InputError);
    await expect(readFileAtTag(opts, upstream, '--output=/tmp/x', 'CHANGELOG.md')).rejects.toThrow(InputError);
  });

  it('keeps working from the mirror when the upstream is unreachable', async () => {
    const copy = path.join(tmp, 'copy');
    fs.cpSync(upstream, copy, { recursive: true });
    const opts = options(new RecordingRunner(), { ttlMs: 0 });
    await ensureMirror(opts, copy);
    fs.rmSync(copy, { recursive: true });
    const state = await ensureMirror(opts, copy);
    expect(state.staleReason).toContain('cannot fetch the tags of');
    expect(await readFileAtTag(opts, copy, 'v4.4.8', 'CHANGELOG.md')).toContain('## [4.4.8]');
  });
});

describe('listMastodonVersions', () => {
  it('lists stable versions newest first with series, current, newer, security flags and notes', async () => {
    const runner = new RecordingRunner();
    const catalog = await listMastodonVersions({ ...options(runner), url: upstream, current: '4.4.8' });
    expect(catalog.current).toBe('4.4.8');
    expect(catalog.warnings).toEqual([]);
    expect(catalog.versions.map((v) => [v.version, v.tag, v.series, v.isCurrent, v.newer, v.security, v.date])).toEqual(
      [
        ['4.5.2', 'v4.5.2', '4.5', false, true, false, '2025-11-20'],
        ['4.5.0', 'v4.5.0', '4.5', false, true, false, '2025-11-06'],
        // Only in the CHANGELOG of stable-4.4: read from the newest 4.4 tag.
        ['4.4.9', 'v4.4.9', '4.4', false, true, true, '2025-11-20'],
        ['4.4.8', 'v4.4.8', '4.4', true, false, true, '2025-10-21'],
        ['4.4.0', 'v4.4.0', '4.4', false, false, false, '2025-07-08'],
        ['4.3.0', 'v4.3.0', '4.3', false, false, false, undefined],
      ],
    );
    expect(catalog.versions[0].notes?.subsections.map((s) => s.title)).toEqual(['Fixed']);
    expect(catalog.versions[3].notes).toBeUndefined();
    expect(groupBySeries(catalog.versions).map((g) => [g.series, g.versions.map((v) => v.version)])).toEqual([
      ['4.5', ['4.5.2', '4.5.0']],
      ['4.4', ['4.4.9', '4.4.8', '4.4.0']],
      ['4.3', ['4.3.0']],
    ]);
    const reads = runner.calls.filter((c) => c.includes('cat-file')).map((c) => c.at(-1));
    expect(reads).toEqual(['refs/tags/v4.5.2:CHANGELOG.md', 'refs/tags/v4.4.9:CHANGELOG.md']);
  });

  it('includes pre-releases on request, keeps a pre-release current, and warns about a current version that is not upstream', async () => {
    const pre = await listMastodonVersions({
      ...options(new RecordingRunner()),
      url: upstream,
      current: '4.4.0-beta.1',
      includePrerelease: true,
      notes: 'none',
    });
    expect(pre.versions.map((v) => v.version)).toContain('4.2.0-beta1');
    expect(pre.versions.find((v) => v.isCurrent)).toMatchObject({ version: '4.4.0-beta.1', prerelease: true });
    expect(pre.versions.every((v) => v.notes === undefined)).toBe(true);

    const stable = await listMastodonVersions({
      ...options(new RecordingRunner()),
      url: upstream,
      current: '4.3.0-rc.1',
    });
    expect(stable.versions.map((v) => v.version)).toEqual([
      '4.5.2',
      '4.5.0',
      '4.4.9',
      '4.4.8',
      '4.4.0',
      '4.3.0',
      '4.3.0-rc.1',
    ]);
    const fork = await listMastodonVersions({
      ...options(new RecordingRunner()),
      url: upstream,
      current: '4.4.7+glitch',
    });
    expect(fork.current).toBe('4.4.7+glitch');
    expect(fork.warnings).toEqual([`the current version 4.4.7+glitch is not a tag of ${upstream}`]);
    expect(fork.versions.filter((v) => v.newer).map((v) => v.version)).toEqual(['4.5.2', '4.5.0', '4.4.9', '4.4.8']);
  });

  it('maps a typed version to the tag as upstream spelled it', async () => {
    const tags = await listMastodonTags(options(new RecordingRunner()), upstream);
    expect(tagFor('4.2.0-beta.1', tags)).toBe('v4.2.0-beta1');
    expect(tagFor('4.4.8', tags)).toBe('v4.4.8');
    expect(tagFor('4.0.0-rc.1', tags)).toBe('v4.0.0rc1');
    expect(tagFor('4.6.0', tags)).toBe('v4.6.0');
  });
});
