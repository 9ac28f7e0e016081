import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fixturePath } from '../paths.js';

const run = promisify(execFile);

// source: mastodon/mastodon (tags vX.Y.Z with the real pre-release styles and dates, read from its history:
// the operators' data mastodon/versions.tsv; CHANGELOG.md sections per version; lib/mastodon/version.rb;
// app/validators/status_length_validator.rb MAX_CHARS = 500; db/migrate and db/post_migrate as upstream splits
// them, lib/mastodon/database.rb). The fixture's own SQL migrations stand in for upstream's Ruby ones.
/**
 * The fixture Mastodon upstream, from test/fixtures/mastodon-upstream/:
 * `files/` holds upstream's files as they are at the newest tag (README,
 * CHANGELOG.md with every release's section, version.rb, the validator the
 * post-length patch touches, the SQL migrations); `releases.json` says what
 * each tag adds on top of the one before: its commits (each optionally adding
 * one migration), its date, Ruby and API versions. Dates are upstream's real
 * bump dates.
 */
export interface FixtureRelease {
  /** `4.5.0` or `4.5.0-rc.1`; the tag is `v` + this. */
  version: string;
  date: string;
  ruby: string;
  apiVersion: number;
  /** Commits before the "Bump version" commit; `migration` is a path under files/ the commit adds. */
  work: Array<{ subject: string; migration?: string }>;
}

const fixture = (...rel: string[]) => fixturePath('mastodon-upstream', ...rel);
const file = (rel: string) => readFileSync(fixture('files', rel), 'utf8');

const RELEASES = JSON.parse(readFileSync(fixture('releases.json'), 'utf8')) as readonly FixtureRelease[];

/** The tags the fixture upstream carries, oldest first (`v` + version). */
export const FIXTURE_TAGS: readonly string[] = RELEASES.map((r) => `v${r.version}`);

const IDENTITY = {
  GIT_AUTHOR_NAME: 'Claire',
  GIT_AUTHOR_EMAIL: 'claire@example.org',
  GIT_COMMITTER_NAME: 'Claire',
  GIT_COMMITTER_EMAIL: 'claire@example.org',
};

/** Git's own date format: seconds since the epoch and the zone of the ISO date. */
function gitDate(iso: string, hoursBefore = 0): string {
  const zone = /([+-]\d\d):?(\d\d)$/.exec(iso);
  const seconds = Math.floor(Date.parse(iso) / 1000) - hoursBefore * 3600;
  return `${seconds} ${zone ? `${zone[1]}${zone[2]}` : '+0000'}`;
}

/** lib/mastodon/version.rb at a release: the fixture's file with that release's numbers. */
function versionRb(release: FixtureRelease): string {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.]+))?$/.exec(release.version);
  if (!m) throw new Error(`fixture version ${release.version} is not MAJOR.MINOR.PATCH[-PRE]`);
  const values: Record<string, string> = {
    major: m[1],
    minor: m[2],
    patch: m[3],
    default_prerelease: `'${m[4] ?? ''}'`,
  };
  let rb = file('lib/mastodon/version.rb');
  for (const [name, value] of Object.entries(values)) {
    rb = rb.replace(new RegExp(`(def ${name}\\n\\s+)\\S[^\\n]*`), (_all, head: string) => head + value);
  }
  return rb.replace(/(mastodon: )\d+/, (_all, head: string) => head + String(release.apiVersion));
}

/** CHANGELOG.md at a tag: the fixture's file with only the sections of versions released by then. */
function changelogMd(released: ReadonlySet<string>): string {
  const [head, ...sections] = file('CHANGELOG.md').split(/^(?=## \[)/m);
  const kept = sections.filter((s) => released.has(/^## \[([^\]]+)\]/.exec(s)![1])).map((s) => s.replace(/\n+$/, '\n'));
  return kept.length ? head + kept.join('\n') : head.replace(/\n+$/, '\n');
}

async function build(bare: string, work: string): Promise<void> {
  const baseEnv = { ...process.env, ...IDENTITY, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
  const git = (args: string[], date?: string) =>
    run('git', ['--git-dir', bare, '--work-tree', work, ...args], {
      env: date ? { ...baseEnv, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : baseEnv,
    });
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
    writeFileSync(path.join(work, rel), text);
  };
  const copy = (rel: string) => {
    mkdirSync(path.dirname(path.join(work, rel)), { recursive: true });
    copyFileSync(fixture('files', rel), path.join(work, rel));
  };

  await run('git', ['init', '-q', '--bare', '--initial-branch=main', bare], { env: baseEnv });
  copy('README.md');
  copy('app/validators/status_length_validator.rb');
  const released = new Set<string>();
  for (const release of RELEASES) {
    released.add(release.version);
    for (const [i, item] of release.work.entries()) {
      if (item.migration) copy(item.migration);
      await git(['add', '-A']);
      await git(
        ['commit', '-q', '--allow-empty', '-m', item.subject],
        gitDate(release.date, (release.work.length - i) * 6),
      );
    }
    write('lib/mastodon/version.rb', versionRb(release));
    write('.ruby-version', `${release.ruby}\n`);
    write('CHANGELOG.md', changelogMd(released));
    const tag = `v${release.version}`;
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', `Bump version to ${tag}`], gitDate(release.date));
    await git(['tag', '-a', tag, '-m', `Mastodon ${tag}`], gitDate(release.date));
  }
}

/**
 * Creates (once) at `dir` a bare git repository shaped like
 * github.com/mastodon/mastodon for the fixture releases and returns its
 * path, usable by `git ls-remote --tags --refs` and `git clone`.
 */
export async function createMastodonUpstream(dir: string): Promise<string> {
  const bare = path.resolve(dir);
  if (existsSync(path.join(bare, 'refs', 'tags', FIXTURE_TAGS[FIXTURE_TAGS.length - 1]))) return bare;
  if (existsSync(bare) && readdirSync(bare).length > 0 && !existsSync(path.join(bare, 'HEAD'))) {
    throw new Error(`${bare} exists and is not a git repository: refusing to replace it`);
  }
  rmSync(bare, { recursive: true, force: true });
  mkdirSync(path.dirname(bare), { recursive: true });
  const work = mkdtempSync(path.join(os.tmpdir(), 'coopctl-upstream-'));
  try {
    await build(bare, work);
  } catch (err) {
    rmSync(bare, { recursive: true, force: true });
    throw err;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bare;
}
