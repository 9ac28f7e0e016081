import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupsInUse } from '../../../src/backup/inUse.js';
import { planPrune } from '../../../src/backup/prune.js';
import { HostLock } from '../../../src/history/lock.js';
import { OperationRecord } from '../../../src/history/operation.js';
import { LocalHost } from '../../helpers/localHost.js';
import { sampleManifest } from './fixtures.js';

/** Lock and history as real files through a real sh, as on a host; backups as the store lists them. */
const remote = new LocalHost();
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-inuse-'));
const history = { remote, stateDir };
const ids = ['20261101T100000Z-00000a', '20261102T100000Z-00000b', '20261103T100000Z-00000c'];
const [older, preChange, underLock] = ids;

async function change(from: string, to: string, backupId: string, status: 'succeeded' | 'pending') {
  const r = new OperationRecord(remote, stateDir, 'mastodon', 'prod', 'upgrade');
  await r.start({ from, to });
  await r.note({ backupId });
  if (status === 'succeeded') await r.finish('succeeded', 'verified');
}

let inUseNow: Map<string, string> | undefined;
const plan = async () =>
  planPrune(
    ids.map((id, i) => sampleManifest({ id, createdAt: `2026-11-0${i + 1}T10:00:00.000Z` })),
    new Date('2026-12-01T00:00:00Z'),
    { keepLast: 0, keepDailyDays: 0 },
    [],
    (m) => (m.env === 'prod' ? inUseNow?.get(m.id) : undefined),
  );

describe('retention never removes a backup a change uses', () => {
  it("keeps the newest succeeded change's pre-change backup and the safety backup of the change under a live lock", async () => {
    await change('4.4.6', '4.4.7', older, 'succeeded');
    await change('4.4.7', '4.4.8', preChange, 'succeeded');
    const lock = new HostLock(remote, stateDir, 'mastodon', 'prod');
    await lock.acquire({ command: 'upgrade mastodon --env prod --to 4.5.0', kind: 'auto' });
    try {
      await change('4.4.8', '4.5.0', underLock, 'pending');
      inUseNow = await backupsInUse(history, 'mastodon', 'prod');
      expect([...inUseNow.keys()].sort()).toEqual([preChange, underLock]);
      expect(inUseNow.get(preChange)).toMatch(/pre-change backup of upgrade .* the newest succeeded change/);
      expect(inUseNow.get(underLock)).toMatch(/safety backup of upgrade .* running under the live lock of/);
      const p = await plan();
      expect(p.delete.map((d) => d.manifest.id)).toEqual([older]);
      expect(p.keep.map((d) => d.manifest.id).sort()).toEqual([preChange, underLock]);
    } finally {
      await lock.release();
    }
    // the run ended (its lock is gone): its backup is one like the others
    inUseNow = await backupsInUse(history, 'mastodon', 'prod');
    expect([...inUseNow.keys()]).toEqual([preChange]);
  });
});
