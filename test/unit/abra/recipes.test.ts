import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/kernel/errors.js';
import { ExecaRunner } from '../../../src/kernel/process.js';
import { AbraClient } from '../../../src/drivers/abra/client.js';
import { git } from '../../world/coopcloud/git.js';
import { createRecipeRepo, createRecipeRepos } from '../../world/coopcloud/recipes.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
const abraDir = path.join(tmp, 'abra');
const driver = new AbraClient({ runner: new ExecaRunner(false), settings: { bin: 'abra', dir: abraDir } });
let fixtureMs = 0;

beforeAll(async () => {
  const t = Date.now();
  await createRecipeRepos(path.join(abraDir, 'recipes'));
  fixtureMs = Date.now() - t;
  // a recipe with history: old `<upstream>_<n>` tags, a lightweight tag, a tag that is no version, a note only at its own tag
  const dir = path.join(abraDir, 'recipes', 'oldwiki');
  await createRecipeRepo(dir, {
    name: 'oldwiki',
    envFile: () => '',
    releases: [
      { tag: '1.35.0_1', date: '2021-01-01T00:00:00Z', files: { 'compose.yml': 'services: {}\n' } },
      { tag: '1.35.0_2', date: '2021-02-01T00:00:00Z', files: { 'compose.yml': 'services: {app: {}}\n' } },
      {
        tag: '0.1.0+1.36.0',
        date: '2021-06-01T00:00:00Z',
        files: { 'compose.yml': 'services: {}\n', 'release/0.1.0+1.36.0': 'first semver release\n' },
      },
      { tag: '0.2.0+1.37.0', date: '2022-01-01T00:00:00Z', files: { 'compose.yml': 'services: {db: {}}\n' } },
      {
        tag: '0.10.0+1.39.0',
        date: '2023-01-01T00:00:00Z',
        files: { 'compose.yml': 'services: {db: {}}\n', 'release/0.10.0+1.39.0': 'ten\n' },
      },
    ],
  });
  await git(dir, ['tag', '0.3.0+1.38.0', '0.2.0+1.37.0^{commit}'], '2022-06-01T00:00:00Z');
  await git(dir, ['tag', 'before-rewrite', '0.2.0+1.37.0'], '2022-06-01T00:00:00Z');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('fixture recipes', () => {
  it('are built quickly', () => {
    expect(fixtureMs).toBeLessThan(2000);
  });

  it('have annotated tags with "chore: publish <v> release" and fixed dates', async () => {
    const bonfire = await driver.recipeVersions('bonfire');
    expect(bonfire).toEqual([
      expect.objectContaining({
        version: '1.0.0+1.0.5-social-amd64',
        annotated: true,
        date: '2026-07-08T12:35:31+02:00',
        message: 'chore: publish 1.0.0+1.0.5-social-amd64 release',
      }),
      expect.objectContaining({
        version: '2.0.0+1.0.5-social-amd64',
        annotated: true,
        date: '2026-08-04T15:56:10+02:00',
      }),
      expect.objectContaining({
        version: '2.0.1+1.0.6-social-amd64',
        annotated: true,
        date: '2026-08-04T16:03:16+02:00',
      }),
    ]);
    expect((await driver.recipeVersions('keycloak')).map((r) => r.version)).toEqual([
      '7.0.0+25.0.6',
      '8.0.0+26.0.5',
      '8.0.1+26.0.7',
    ]);
    expect((await driver.recipeVersions('mediawiki')).map((r) => r.version)).toEqual([
      '1.0.0+1.41.1',
      '1.1.0+1.42.1',
      '1.1.1+1.42.3',
    ]);
  });

  it('are deterministic: the same commits every time', async () => {
    const again = path.join(tmp, 'again');
    await createRecipeRepos(again);
    const head = (d: string) => execFileSync('git', ['-C', d, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
    expect(head(path.join(again, 'bonfire'))).toBe(head(path.join(abraDir, 'recipes', 'bonfire')));
  });

  it('carry the version label on the app service and backupbot labels where the real recipes do', () => {
    const show = (recipe: string, tag: string, file: string) =>
      execFileSync('git', ['-C', path.join(abraDir, 'recipes', recipe), 'show', `${tag}:${file}`], {
        encoding: 'utf8',
      });
    type Compose = { services: Record<string, { deploy?: { labels?: string[] | Record<string, string> } }> };
    const labels = (recipe: string, tag: string, svc: string) => {
      const l = (parseYaml(show(recipe, tag, 'compose.yml')) as Compose).services[svc]?.deploy?.labels ?? [];
      return Array.isArray(l) ? l : Object.entries(l).map(([k, v]) => `${k}=${v}`);
    };
    expect(labels('bonfire', '2.0.1+1.0.6-social-amd64', 'app')).toContain(
      'coop-cloud.${STACK_NAME}.version=2.0.1+1.0.6-social-amd64',
    );
    expect(labels('bonfire', '2.0.1+1.0.6-social-amd64', 'app')).toContain(
      'coop-cloud.${STACK_NAME}.timeout=${TIMEOUT:-300}',
    );
    expect(labels('bonfire', '1.0.0+1.0.5-social-amd64', 'db')).toContain(
      'backupbot.backup.pre-hook=/pg_backup.sh backup',
    );
    expect(labels('keycloak', '7.0.0+25.0.6', 'db').some((l) => l.startsWith('backupbot.backup='))).toBe(true);
    expect(labels('mediawiki', '1.0.0+1.41.1', 'db').some((l) => l.startsWith('backupbot'))).toBe(false);
    expect(labels('mediawiki', '1.1.0+1.42.1', 'db').some((l) => l.startsWith('backupbot.backup='))).toBe(true);
    expect(show('bonfire', '1.0.0+1.0.5-social-amd64', 'compose.auth.openid.yml')).toContain('OPENID_1_DISCOVERY');
    expect(show('bonfire', '2.0.0+1.0.5-social-amd64', '.env.sample')).toMatch(/^TYPE=bonfire$/m);
  });
});

describe('recipeVersions', () => {
  it('orders by the semver part, legacy tags first, lightweight tags tolerated, other tags ignored', async () => {
    const versions = await driver.recipeVersions('oldwiki');
    expect(versions.map((v) => [v.version, v.annotated])).toEqual([
      ['1.35.0_1', true],
      ['1.35.0_2', true],
      ['0.1.0+1.36.0', true],
      ['0.2.0+1.37.0', true],
      ['0.3.0+1.38.0', false],
      ['0.10.0+1.39.0', true],
    ]);
  });

  it('says how to fetch a recipe abra does not have', async () => {
    const err = await driver.recipeVersions('nextcloud').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).hints).toEqual(['fetch it first: abra recipe fetch nextcloud']);
  });

  it('refuses recipe names that are not names', async () => {
    await expect(driver.recipeVersions('../etc')).rejects.toThrow(InputError);
  });
});

describe('releaseNotes', () => {
  it('returns every version in (from, to], newest first, with undefined where no note exists', async () => {
    expect(await driver.releaseNotes('bonfire', '1.0.0+1.0.5-social-amd64', '2.0.1+1.0.6-social-amd64')).toEqual([
      { version: '2.0.1+1.0.6-social-amd64', notes: expect.stringContaining('upstream 1.0.6') },
      { version: '2.0.0+1.0.5-social-amd64', notes: expect.stringContaining('search backend was removed') },
    ]);
    expect(await driver.releaseNotes('keycloak', '7.0.0+25.0.6', '8.0.1+26.0.7')).toEqual([
      { version: '8.0.1+26.0.7', notes: undefined },
      { version: '8.0.0+26.0.5', notes: expect.any(String) },
    ]);
  });

  it('includes everything up to `to` when from is undefined, and only `to` for a chaos from', async () => {
    expect((await driver.releaseNotes('bonfire', undefined, '2.0.0+1.0.5-social-amd64')).map((n) => n.version)).toEqual(
      ['2.0.0+1.0.5-social-amd64', '1.0.0+1.0.5-social-amd64'],
    );
    expect(
      (await driver.releaseNotes('bonfire', '0cf4aaa1+U', '2.0.0+1.0.5-social-amd64')).map((n) => n.version),
    ).toEqual(['2.0.0+1.0.5-social-amd64']);
    expect(await driver.releaseNotes('bonfire', '2.0.1+1.0.6-social-amd64', '2.0.1+1.0.6-social-amd64')).toEqual([]);
  });

  it('finds a note at its own tag when the target tree lacks it', async () => {
    const notes = await driver.releaseNotes('oldwiki', '1.35.0_2', '0.10.0+1.39.0');
    expect(notes).toEqual([
      { version: '0.10.0+1.39.0', notes: 'ten' },
      { version: '0.3.0+1.38.0', notes: undefined },
      { version: '0.2.0+1.37.0', notes: undefined },
      { version: '0.1.0+1.36.0', notes: 'first semver release' },
    ]);
  });

  it('refuses a target that is not a version of the recipe', async () => {
    await expect(driver.releaseNotes('bonfire', undefined, '9.9.9+x')).rejects.toThrow(
      /not a version of recipe bonfire/,
    );
    await expect(driver.releaseNotes('bonfire', undefined, '--upload-pack=x')).rejects.toThrow(InputError);
  });
});

describe('recipeCheckoutClean', () => {
  it('reports local changes in the shared checkout', async () => {
    expect(await driver.recipeCheckoutClean('keycloak')).toEqual({ clean: true, changes: [] });
    writeFileSync(path.join(abraDir, 'recipes', 'keycloak', 'compose.yml'), 'edited\n');
    writeFileSync(path.join(abraDir, 'recipes', 'keycloak', 'notes.txt'), 'x\n');
    expect(await driver.recipeCheckoutClean('keycloak')).toEqual({
      clean: false,
      changes: [' M compose.yml', '?? notes.txt'],
    });
  });
});
