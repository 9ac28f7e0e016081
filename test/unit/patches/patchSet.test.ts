import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/kernel/errors.js';
import { ExecaRunner } from '../../../src/kernel/process.js';
import { configSchema } from '../../../src/operations/registry.js';
import { checkAllPatches, loadPatchSet } from '../../../src/config/patches.js';
import { patchesApplyAtTag } from '../../../src/versions/gitTags.js';

const repo = path.resolve(import.meta.dirname, '../../..');
const POST_LENGTH = path.join(repo, 'patches', 'mastodon', 'post-length-2000.patch');
const VALIDATOR = 'app/validators/status_length_validator.rb';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'coopctl-patches-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

function configWith(patches: string[] | undefined, dir = tmp) {
  const text = `services:
  mastodon:
    driver: ansible
    playbook: playbooks/mastodon.yml
    versions: { type: git, url: https://github.com/mastodon/mastodon.git }
    environments:
      alpha:
        inventory: inventories/alpha
        host: pando
        health: { url: "https://alpha.social.coop" }
${patches ? `        patches: [${patches.join(', ')}]\n` : ''}      prod:
        inventory: inventories/prod
        host: rhizome
        health: { url: "https://social.coop" }
`;
  return parseConfigText(text, path.join(dir, 'coopctl.yaml'), configSchema());
}

function errorOf(f: () => unknown): ConfigError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** The repo's patch with its context changed as a later release could change it: it no longer applies. */
function conflictingPatch(): string {
  return readFileSync(POST_LENGTH, 'utf8').replace('   URL_PLACEHOLDER_CHARS = 23', '   URL_PLACEHOLDER_CHARS = 42');
}

describe('patch sets', () => {
  it('digest: sha256 over the sorted "<basename> <sha256>" lines, whatever the order in the config', () => {
    mkdirSync(path.join(tmp, 'p'), { recursive: true });
    copyFileSync(POST_LENGTH, path.join(tmp, 'p', 'post-length-2000.patch'));
    writeFileSync(path.join(tmp, 'p', 'b.patch'), conflictingPatch());
    const a = loadPatchSet(configWith(['p/post-length-2000.patch', 'p/b.patch']), 'mastodon', 'alpha')!;
    const b = loadPatchSet(configWith(['p/b.patch', 'p/post-length-2000.patch']), 'mastodon', 'alpha')!;
    const lines = [`b.patch ${sha(conflictingPatch())}`, `post-length-2000.patch ${sha(readFileSync(POST_LENGTH))}`];
    expect(a.set.digest).toBe(sha(lines.map((l) => `${l}\n`).join('')));
    expect(b.set.digest).toBe(a.set.digest);
    expect(a.set.patches).toEqual([
      { file: 'p/post-length-2000.patch', sha256: sha(readFileSync(POST_LENGTH)) },
      { file: 'p/b.patch', sha256: sha(conflictingPatch()) },
    ]);
    expect(a.patches[0].touches).toEqual([VALIDATOR]);
    // the sidecar's declared effect comes with the patch; an environment without patches has no set
    const alone = loadPatchSet(configWith([POST_LENGTH]), 'mastodon', 'alpha')!;
    expect(alone.patches[0].expect).toEqual({
      instanceApi: { path: 'configuration.statuses.max_characters', equals: 2000 },
    });
    expect(loadPatchSet(configWith([POST_LENGTH]), 'mastodon', 'prod')).toBeNull();
  });

  it('a missing file or a file that is no patch is a config error naming file:line and the path', () => {
    const missing = errorOf(() => checkAllPatches(configWith(['patches/nope.patch'])));
    expect(missing.message).toMatch(/coopctl\.yaml:11 services\.mastodon\.environments\.alpha\.patches\[0\]/);
    expect(missing.message).toContain('patches/nope.patch: no such file');
    writeFileSync(path.join(tmp, 'notes.patch'), 'MAX_CHARS = 2000, please\n');
    const notPatch = errorOf(() => checkAllPatches(configWith(['notes.patch'])));
    expect(notPatch.message).toMatch(/coopctl\.yaml:11 .*patches\[0\]: notes\.patch: not a patch/);
    const bad = errorOf(() => configWith(['""']));
    expect(bad.message).toMatch(/coopctl\.yaml:11 .*patches\[0\]/);
  });
});

/** A patch of MAX_CHARS from `from` to `to` (the repo's patch with its numbers changed). */
function maxCharsPatch(from: number, to: number): string {
  return readFileSync(POST_LENGTH, 'utf8')
    .replace('-  MAX_CHARS = 500', `-  MAX_CHARS = ${from}`)
    .replace('+  MAX_CHARS = 2000', `+  MAX_CHARS = ${to}`);
}

describe('patches against a tag, in a real git mirror', () => {
  const work = path.join(tmp, 'upstream');
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { stdio: 'pipe' });
  const opts = { runner: new ExecaRunner(false), env: { ...process.env, XDG_CACHE_HOME: path.join(tmp, 'cache') } };
  const apply = (...patches: string[]) => patchesApplyAtTag(opts, work, 'v4.4.8', patches);

  it('one applies cleanly; a changed context is a conflict naming the file; the mirror keeps its tree', async () => {
    mkdirSync(path.join(work, 'app', 'validators'), { recursive: true });
    copyFileSync(path.join(repo, 'test/fixtures/mastodon-upstream/files', VALIDATOR), path.join(work, VALIDATOR));
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'release');
    git('tag', 'v4.4.8');
    expect(await apply(readFileSync(POST_LENGTH, 'utf8'))).toEqual({ ok: true });
    const bad = await apply(conflictingPatch());
    expect(bad).toMatchObject({ ok: false, failed: 0 });
    expect(!bad.ok && bad.message).toContain(`${VALIDATOR}: patch does not apply`);
    // nothing of the mirror changed: its tag still has the release's file
    expect(git('show', `v4.4.8:${VALIDATOR}`).toString()).toContain('MAX_CHARS = 500');
  });

  it('in order, each onto what the ones before it made, as the image build applies them', async () => {
    // 2000 → 3000 applies only after 500 → 2000
    expect(await apply(maxCharsPatch(500, 2000), maxCharsPatch(2000, 3000))).toEqual({ ok: true });
    const reversed = await apply(maxCharsPatch(2000, 3000), maxCharsPatch(500, 2000));
    expect(reversed).toMatchObject({ ok: false, failed: 0 });
    // each applies to the tag alone, not one after the other: the second is named
    const rivals = await apply(maxCharsPatch(500, 2000), maxCharsPatch(500, 1000));
    expect(rivals).toMatchObject({ ok: false, failed: 1 });
    expect(!rivals.ok && rivals.message).toContain(`${VALIDATOR}: patch does not apply`);
    expect(await apply(maxCharsPatch(500, 1000))).toEqual({ ok: true });
  });
});
