import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectionsCheck } from '../../../src/drivers/ansible/checks.js';
import { inventoryLookups } from '../../../src/drivers/ansible/lookups.js';
import type { ProcessRunner } from '../../../src/kernel/process.js';
import type { CheckContext } from '../../../src/targets/target.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const FIXTURES = path.join(REPO, 'test/fixtures/inventories');

/** `ansible-galaxy collection list --format json` answering with these collections installed. */
function galaxy(installed: Record<string, string>): ProcessRunner {
  return {
    dryRun: false,
    async run(file, args) {
      expect([file, ...args.slice(0, 2)]).toEqual(['ansible-galaxy', 'collection', 'list']);
      const cols = Object.fromEntries(Object.entries(installed).map(([n, version]) => [n, { version }]));
      const stdout = JSON.stringify({ '/usr/share/ansible/collections': cols });
      return { stdout, stderr: '', exitCode: 0, skipped: false };
    },
  };
}

/** The check as preflight runs it, for the repository's own coopctl.yaml layout (playbooks/, inventories/). */
function check(inventory: string, installed: Record<string, string>) {
  const ctx = {
    runner: galaxy(installed),
    target: { serviceConfig: { playbook: 'playbooks/mastodon.yml' }, envConfig: { inventory } },
    context: { loaded: { dir: REPO, resolvePath: (p: string) => path.resolve(REPO, p) } },
  } as unknown as CheckContext;
  return collectionsCheck.run(ctx);
}

describe('the lookups an inventory needs collections for', () => {
  it('a directory inventory: YAML and INI sources, group_vars files and directories, host_vars', () => {
    const found = inventoryLookups(path.join(FIXTURES, 'lookups')).map((l) => ({
      ...l,
      file: path.relative(FIXTURES, l.file),
    }));
    expect(found).toEqual([
      {
        file: 'lookups/group_vars/mastodon/secrets.yml',
        line: 3,
        plugin: 'passwordstore',
        collection: 'community.general',
      },
      {
        file: 'lookups/group_vars/mastodon/secrets.yml',
        line: 4,
        plugin: 'community.general.passwordstore',
        collection: 'community.general',
      },
      {
        file: 'lookups/host_vars/rhizome.yml',
        line: 1,
        plugin: 'community.hashi_vault.hashi_vault',
        collection: 'community.hashi_vault',
      },
      { file: 'lookups/legacy.ini', line: 3, plugin: 'onepassword', collection: 'community.general' },
    ]);
  });

  it('a single-file inventory: the group_vars next to it', () => {
    const found = inventoryLookups(path.join(FIXTURES, 'single-file', 'sandbox.yml'));
    expect(found.map((l) => [path.basename(l.file), l.line, l.collection])).toEqual([
      ['all.yml', 1, 'community.hashi_vault'],
    ]);
  });
});

describe('the ansible-collections check', () => {
  it("fails for the production inventory's passwordstore lookup without community.general, naming file:line", async () => {
    const r = await check('inventories/prod', {});
    expect(r.status).toBe('fail');
    expect(r.message).toBe(
      'the inventory needs collections that are not installed: ' +
        "community.general (lookup 'passwordstore' at inventories/prod/group_vars/mastodon.yml:4)",
    );
    expect(r.fix).toBe('ansible-galaxy collection install community.general');
  });

  it('names every missing collection once, with the galaxy command for all of them', async () => {
    const r = await check('test/fixtures/inventories/lookups', { 'community.general': '8.6.0' });
    expect(r.status).toBe('fail');
    expect(r.message).toContain(
      "community.hashi_vault (lookup 'community.hashi_vault.hashi_vault' at " +
        'test/fixtures/inventories/lookups/host_vars/rhizome.yml:1)',
    );
    expect(r.message).not.toContain('community.general');
    expect(r.fix).toBe('ansible-galaxy collection install community.hashi_vault');
  });

  it('passes once the collections are installed', async () => {
    const r = await check('inventories/prod', { 'community.general': '8.6.0' });
    expect(r).toMatchObject({ status: 'pass', message: 'collections present: community.general' });
  });

  it('passes when neither the playbook nor the inventory needs a collection', async () => {
    const r = await check('inventories/coopcloud', {});
    expect(r.status).toBe('pass');
  });
});
