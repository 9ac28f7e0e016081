import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMastodonTestHost, runStandin, type MastodonTestHost } from '../../helpers/mastodonHost.js';

/** The docker stand-in's `docker build`, as the playbook's patch tasks run it on a host. */
let host: MastodonTestHost;
let work: string;

const repo = path.resolve(import.meta.dirname, '../../..');
const PATCH = readFileSync(path.join(repo, 'patches', 'mastodon', 'post-length-2000.patch'), 'utf8');
const VALIDATOR = 'app/validators/status_length_validator.rb';
const image = (tag: string) => path.join(host.root, 'images', 'ghcr.io', 'mastodon', 'mastodon', tag);

function context(name: string, patch: string): string {
  const dir = path.join(work, name);
  mkdirSync(path.join(dir, 'patches'), { recursive: true });
  writeFileSync(path.join(dir, 'patches', 'post-length-2000.patch'), patch);
  writeFileSync(
    path.join(dir, 'Dockerfile'),
    'FROM ghcr.io/mastodon/mastodon:v4.4.8 AS upstream\n' +
      'FROM docker.io/library/buildpack-deps:bookworm-scm AS patched\nWORKDIR /src\n' +
      `COPY --from=upstream /opt/mastodon/${VALIDATOR} ${VALIDATOR}\nCOPY patches/ /patches/\n` +
      'RUN git apply --verbose /patches/post-length-2000.patch\n\n' +
      'FROM ghcr.io/mastodon/mastodon:v4.4.8\nCOPY --from=patched --chown=mastodon:mastodon /src/ /opt/mastodon/\n',
  );
  return dir;
}

beforeAll(async () => {
  host = await createMastodonTestHost();
  work = mkdtempSync(path.join(os.tmpdir(), 'coopctl-build-'));
});

afterAll(async () => {
  await host?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('docker build stand-in', () => {
  it('builds FROM the upstream image (pulled when missing) with the patches applied, under the tag', async () => {
    const tag = 'v4.4.8-p0123456789ab';
    const r = await runStandin(host.root, 'docker', [
      'build',
      '--progress',
      'plain',
      '-t',
      `ghcr.io/mastodon/mastodon:${tag}`,
      context('ok', PATCH),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('#1 [internal] load build definition from Dockerfile');
    expect(r.stderr).toContain(`Applied patch ${VALIDATOR} cleanly.`);
    expect(r.stderr).toContain(`naming to ghcr.io/mastodon/mastodon:${tag} done`);
    expect(readFileSync(path.join(image(tag), VALIDATOR), 'utf8')).toContain('MAX_CHARS = 2000');
    expect(readFileSync(path.join(image('v4.4.8'), VALIDATOR), 'utf8')).toContain('MAX_CHARS = 500');
  });

  it("a patch that does not apply fails the build with git apply's message, exit 1, and no image", async () => {
    const tag = 'v4.4.8-pffffffffffff';
    const stale = PATCH.replace('   URL_PLACEHOLDER_CHARS = 23', '   URL_PLACEHOLDER_CHARS = 42');
    const r = await runStandin(host.root, 'docker', [
      'build',
      '-t',
      `ghcr.io/mastodon/mastodon:${tag}`,
      context('stale', stale),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${VALIDATOR}: patch does not apply`);
    expect(r.stderr).toMatch(
      /ERROR: failed to solve: process "\/bin\/sh -c git apply .*" did not complete successfully/,
    );
    expect(existsSync(image(tag))).toBe(false);
  });
});
