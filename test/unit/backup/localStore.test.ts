import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findBackup, listBackups, writeManifest } from '../../../src/backup/catalog.js';
import { storeLeftovers } from '../../../src/backup/leftovers.js';
import { applyPrune, planPrune } from '../../../src/backup/prune.js';
import { LocalStore } from '../../../src/backup/store/local.js';
import { sampleManifest } from './fixtures.js';

let dir: string;
let store: LocalStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
  store = new LocalStore(path.join(dir, 'store'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function failingAfter(bytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) {
        this.destroy(new Error('the dump broke'));
        return;
      }
      sent += 1024;
      this.push(Buffer.alloc(1024, 1));
    },
  });
}

describe('local directory store', () => {
  it('writes objects atomically: complete under their key, or not at all', async () => {
    const r = await store.put('svc/prod/x/db.bin', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect(r.size).toBe(11);
    expect(readFileSync(path.join(store.root, 'svc/prod/x/db.bin'), 'utf8')).toBe('hello world');
    await expect(store.put('svc/prod/y/db.bin', failingAfter(64 * 1024))).rejects.toThrow('the dump broke');
    expect(readdirSync(path.join(store.root, 'svc/prod/y'))).toEqual([]);
    expect(await store.list('')).toEqual(['svc/prod/x/db.bin']);
  });

  it('does not list partial files left by a crash, and reports missing objects', async () => {
    mkdirSync(path.join(store.root, 'svc/prod/z'), { recursive: true });
    writeFileSync(path.join(store.root, 'svc/prod/z/db.bin.partial'), 'half');
    expect(await store.list('svc/')).toEqual([]);
    await expect(store.get('svc/prod/z/db.bin')).rejects.toMatchObject({ code: 'missing-object' });
    await expect(store.getText('../outside')).rejects.toThrow(/bad store key/);
  });

  it('replaces manifests atomically and removes emptied directories on delete', async () => {
    await store.putText('a/b/c.json', 'one');
    await store.putText('a/b/c.json', 'two');
    expect(await store.getText('a/b/c.json')).toBe('two');
    await store.delete(['a/b/c.json']);
    expect(readdirSync(store.root)).toEqual([]);
  });
});

describe('the catalog over a store', () => {
  it('lists manifests newest first, reports damaged ones, and finds a backup by id', async () => {
    const older = sampleManifest({ id: '20251120T000000Z-aaaaaa', createdAt: '2025-11-20T00:00:00.000Z' });
    const newer = sampleManifest({ id: '20251121T000000Z-bbbbbb', createdAt: '2025-11-21T00:00:00.000Z' });
    await writeManifest(store, older);
    await writeManifest(store, newer);
    await store.putText('mastodon/prod/20251122T000000Z-cccccc/manifest.json', '{"format": 1}');
    await store.putText('mastodon/prod/20251123T000000Z-dddddd/db.dump.zst.age', 'no manifest: not a backup');
    const l = await listBackups(store, { service: 'mastodon', env: 'prod' });
    expect(l.backups.map((b) => b.id)).toEqual([newer.id, older.id]);
    expect(l.problems).toHaveLength(1);
    expect(l.problems[0].message).toMatch(/manifest is invalid/);
    expect((await findBackup(store, older.id)).id).toBe(older.id);
    await expect(findBackup(store, '20251123T000000Z-dddddd')).rejects.toMatchObject({
      code: 'not-found',
      exitCode: 2,
    });
    expect((await listBackups(store, { service: 'bonfire' })).backups).toEqual([]);
  });

  it('prune deletes manifests first and only what the plan names', async () => {
    const keep = sampleManifest({ id: '20251121T000000Z-bbbbbb', createdAt: '2025-11-21T00:00:00.000Z' });
    const drop = sampleManifest({ id: '20251120T000000Z-aaaaaa', createdAt: '2025-11-20T00:00:00.000Z' });
    for (const m of [keep, drop]) {
      await store.putText(`mastodon/prod/${m.id}/db.dump.zst.age`, 'data');
      await writeManifest(store, m);
    }
    const plan = planPrune((await listBackups(store)).backups, new Date('2025-12-30T00:00:00Z'), {
      keepLast: 1,
      keepDailyDays: 0,
    });
    expect(await applyPrune(store, plan)).toEqual([drop.id]);
    expect((await store.list('')).sort()).toEqual([
      `mastodon/prod/${keep.id}/db.dump.zst.age`,
      `mastodon/prod/${keep.id}/manifest.json`,
    ]);
  });
  it(".partial files carry their writer's pid: a dead writer's is a leftover, a live one's is in use", async () => {
    const dead = spawnSync('true').pid!;
    mkdirSync(path.join(store.root, 'svc/prod/x'), { recursive: true });
    writeFileSync(path.join(store.root, `svc/prod/x/db.bin.${dead}.partial`), 'half');
    writeFileSync(path.join(store.root, `svc/prod/x/env.age.${process.pid}.partial`), 'writing');
    writeFileSync(path.join(store.root, 'svc/prod/x/old.bin.partial'), 'from an older coopctl');
    // a live pid that has not written for an hour is not the writer: the pid was reused
    const stale = path.join(store.root, `svc/prod/x/stale.bin.${process.pid}.partial`);
    writeFileSync(stale, 'stale');
    utimesSync(stale, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const found = (await storeLeftovers(store, 'svc/')).sort((a, b) => a.name.localeCompare(b.name));
    expect(found.map((l) => [l.kind, l.name, l.size, l.owner, l.inUse])).toEqual([
      ['partial-file', 'svc/prod/x/db.bin', 4, `pid ${dead} on this machine`, undefined],
      ['partial-file', 'svc/prod/x/env.age', 7, `pid ${process.pid} on this machine`, expect.stringContaining('still')],
      ['partial-file', 'svc/prod/x/old.bin', 21, undefined, undefined],
      ['partial-file', 'svc/prod/x/stale.bin', 5, `pid ${process.pid} on this machine`, undefined],
    ]);
    for (const l of found) await l.remove();
    expect(readdirSync(store.root)).toEqual([]);
  });

  it('a write in progress is named with the pid of its writer', async () => {
    let seen: string[] = [];
    let reads = 0;
    const body = new Readable({
      read() {
        if (reads++ === 0) this.push('data');
        else
          setTimeout(() => {
            seen = readdirSync(path.join(store.root, 'svc/prod/y'));
            this.push(null);
          }, 100);
      },
    });
    await store.put('svc/prod/y/db.bin', body);
    expect(seen).toEqual([`db.bin.${process.pid}.partial`]);
  });
});
