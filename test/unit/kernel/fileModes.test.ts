import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStore } from '../../../src/backup/store/local.js';
import { InventoryCache } from '../../../src/config/inventory.js';
import { runPlaybook } from '../../../src/drivers/ansible/playbook.js';
import { ExecaRunner, type ProcessRunner } from '../../../src/kernel/process.js';
import { operationLogFile } from '../../../src/kernel/logs.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-modes-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (p: string) => statSync(p).mode & 0o777;

describe('what coopctl keeps on this machine is private', () => {
  it('the local store: directories 0700, dumps and manifests 0600', async () => {
    const store = new LocalStore(path.join(dir, 'backups'));
    await store.check();
    await store.put('mastodon/prod/20261129T120000Z-abcdef/db.dump.zst.age', Readable.from([Buffer.from('dump')]));
    await store.putText('mastodon/prod/20261129T120000Z-abcdef/manifest.json', '{}');
    expect(mode(store.root).toString(8)).toBe('700');
    for (const d of ['mastodon', 'mastodon/prod', 'mastodon/prod/20261129T120000Z-abcdef'])
      expect([d, mode(path.join(store.root, d)).toString(8)]).toEqual([d, '700']);
    for (const f of ['db.dump.zst.age', 'manifest.json']) {
      const file = path.join(store.root, 'mastodon/prod/20261129T120000Z-abcdef', f);
      expect([f, mode(file).toString(8)]).toEqual([f, '600']);
    }
  });

  it("the logs directory: 0700, and coopctl's state dir tightened when an older version made it 0755", () => {
    mkdirSync(path.join(dir, 'coopctl'), { mode: 0o755 });
    const log = operationLogFile({ XDG_STATE_HOME: dir }, 'mastodon', 'prod', 'upgrade');
    expect(mode(path.dirname(log)).toString(8)).toBe('700');
    expect(mode(path.join(dir, 'coopctl')).toString(8)).toBe('700');
  });

  it("a playbook run's log 0600 in a 0700 directory", async () => {
    const playbook = path.join(dir, 'site.yml');
    writeFileSync(playbook, '- hosts: all\n  tasks: []\n');
    const real = new ExecaRunner(false);
    const runner: ProcessRunner = {
      dryRun: false,
      run: (file, args, opts) =>
        real.run(file === 'ansible-playbook' ? 'true' : file, file === 'ansible-playbook' ? [] : args, opts),
    };
    const logFile = path.join(dir, 'logs', 'mastodon-prod-upgrade.log');
    await runPlaybook(runner, { playbook, inventory: 'inventory.yml', limit: ['alpha'], extraVars: {}, logFile });
    expect(mode(path.dirname(logFile)).toString(8)).toBe('700');
    expect(mode(logFile).toString(8)).toBe('600');
  });

  it('the inventory cache (host variables): 0600 in 0700 directories', async () => {
    const inv = path.join(dir, 'prod.yml');
    writeFileSync(inv, 'all:\n  hosts:\n    rhizome:\n      ansible_host: 127.0.0.1\n');
    const cache = path.join(dir, 'cache');
    await new InventoryCache(new ExecaRunner(false), [], { ...process.env, XDG_CACHE_HOME: cache }).get(inv);
    const cacheDir = path.join(cache, 'coopctl', 'inventory');
    expect(mode(path.join(cache, 'coopctl')).toString(8)).toBe('700');
    expect(mode(cacheDir).toString(8)).toBe('700');
    const files = readdirSync(cacheDir);
    expect(files).toHaveLength(1);
    expect(mode(path.join(cacheDir, files[0])).toString(8)).toBe('600');
  });
});
