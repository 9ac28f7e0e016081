import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { README_MD, changelogMd, statusLengthValidatorRb, versionRb } from './upstreamFiles.js';
import { FIXTURE_RELEASES, type FixtureRelease } from './upstreamReleases.js';

const run = promisify(execFile);

/** The tags the fixture upstream carries, oldest first (`v` + version). */
export const FIXTURE_TAGS: readonly string[] = FIXTURE_RELEASES.map((r) => `v${r.version}`);

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

async function build(bare: string, work: string): Promise<void> {
  const baseEnv = { ...process.env, ...IDENTITY, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
  const git = (args: string[], date?: string) =>
    run('git', ['--git-dir', bare, '--work-tree', work, ...args], {
      env: date ? { ...baseEnv, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : baseEnv,
    });
  const write = (rel: string, text: string) => {
    const file = path.join(work, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  };

  await run('git', ['init', '-q', '--bare', '--initial-branch=main', bare], { env: baseEnv });
  write('README.md', README_MD);
  write('app/validators/status_length_validator.rb', statusLengthValidatorRb());
  const released: FixtureRelease[] = [];
  for (const release of FIXTURE_RELEASES) {
    released.push(release);
    for (const [i, item] of release.work.entries()) {
      if (item.migration) {
        const m = item.migration;
        write(`db/${m.phase}/${m.version}_${m.name}.sql`, m.sql);
      }
      await git(['add', '-A']);
      await git(['commit', '-q', '--allow-empty', '-m', item.subject], gitDate(release.date, (release.work.length - i) * 6));
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
 * github.com/mastodon/mastodon for the releases in FIXTURE_RELEASES and
 * returns its path, usable by `git ls-remote --tags --refs` and `git clone`.
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
