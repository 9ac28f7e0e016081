import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { latestBackup, writeManifest } from '../../../src/backup/catalog.js';
import { LocalStore } from '../../../src/backup/store/local.js';
import { storeFromConfig, type StoreDeps } from '../../../src/backup/store/open.js';
import { backupSchema } from '../../../src/config/schema.js';
import { sampleManifest } from './fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const backupConfig = (backup: unknown) => backupSchema.parse(backup ?? {});
const deps = (env: NodeJS.ProcessEnv = {}): StoreDeps => ({
  env,
  resolvePath: (p) => path.resolve(dir, p),
  secret: async (ref, where) => {
    if ('env' in ref && env[ref.env]) return env[ref.env]!;
    throw new Error(`${where}: unset`);
  },
});

describe('opening the configured store', () => {
  it('has a local store even when none is configured, under $XDG_STATE_HOME', async () => {
    const s = await storeFromConfig(backupConfig({}), deps({ XDG_STATE_HOME: path.join(dir, 'state') }));
    expect(s.description).toBe(`local ${path.join(dir, 'state', 'coopctl', 'backups')}`);
  });

  it('resolves local directories against the config and S3 credentials through secret references', async () => {
    const cfg = backupConfig({
      store: 'spaces',
      stores: {
        here: { type: 'local', dir: 'backups' },
        spaces: {
          type: 's3',
          endpoint: 'https://ams3.digitaloceanspaces.com',
          bucket: 'socialcoop-backups',
          accessKeyId: { env: 'AK' },
          secretAccessKey: { env: 'SK' },
        },
      },
    });
    expect((await storeFromConfig(cfg, deps(), 'here')).description).toBe(`local ${path.join(dir, 'backups')}`);
    const s3 = await storeFromConfig(cfg, deps({ AK: 'key-id', SK: 'secret-key' }));
    expect(s3.description).toBe('s3 socialcoop-backups/coopctl/ at https://ams3.digitaloceanspaces.com');
    await expect(storeFromConfig(cfg, deps())).rejects.toThrow(/accessKeyId: unset/);
    await expect(storeFromConfig(cfg, deps(), 'elsewhere')).rejects.toThrow(/unknown store "elsewhere"/);
  });

  it('finds the latest backup of a service × environment for status', async () => {
    const store = new LocalStore(path.join(dir, 'latest'));
    expect(await latestBackup(store, 'mastodon', 'prod')).toBeNull();
    await writeManifest(store, sampleManifest({ id: '20251120T000000Z-aaaaaa' }));
    await writeManifest(
      store,
      sampleManifest({ id: '20251121T000000Z-bbbbbb', createdAt: '2025-11-21T00:00:00.000Z' }),
    );
    await writeManifest(store, sampleManifest({ id: '20251122T000000Z-cccccc', env: 'alpha' }));
    expect(await latestBackup(store, 'mastodon', 'prod')).toEqual({
      id: '20251121T000000Z-bbbbbb',
      createdAt: '2025-11-21T00:00:00.000Z',
      verified: false,
      verifiedHow: null,
    });
  });
});
