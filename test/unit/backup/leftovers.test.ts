import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { judgeLeftovers, storeLeftovers, withOwners, type Leftover } from '../../../src/backup/leftovers.js';
import { LocalStore } from '../../../src/backup/store/local.js';
import { parseConfigText } from '../../../src/config/load.js';
import { configSchema } from '../../../src/operations/registry.js';
import type { HistoryRecord } from '../../../src/history/records.js';

let dir: string;
let store: LocalStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
  store = new LocalStore(path.join(dir, 'store'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86_400_000;
const now = new Date('2026-11-29T12:00:00Z');

function leftover(name: string, ageMs: number, extra: Partial<Leftover> = {}): Leftover {
  return {
    kind: 'replaced-database',
    name,
    where: 'alpha',
    createdAt: new Date(now.getTime() - ageMs).toISOString(),
    size: 1,
    remove: async () => {},
    ...extra,
  };
}

describe('leftovers', () => {
  it('prune takes what is older than the retention; never one in use, nor one made under a live lock', () => {
    const judged = judgeLeftovers(
      [
        leftover('old', 8 * DAY),
        leftover('recent', 1 * DAY),
        leftover('old-in-use', 9 * DAY, { inUse: '2 sessions connected' }),
        leftover('under-lock', 60_000),
      ],
      { now, keepMs: 7 * DAY, lockedSince: new Date(now.getTime() - 120_000).toISOString() },
    );
    expect(judged.map((j) => [j.leftover.name, j.remove, j.reason])).toEqual([
      ['old-in-use', false, 'in use: 2 sessions connected'],
      ['old', true, 'older than backup.retention.leftovers'],
      ['recent', false, 'within backup.retention.leftovers'],
      ['under-lock', false, 'made under the lock held since 2026-11-29T11:58:00.000Z'],
    ]);
    expect(judgeLeftovers([leftover('under-lock', 60_000)], { now, keepMs: 0 })[0].remove).toBe(true);
  });

  it("a replaced database's owner is the run whose record kept it", () => {
    const record = {
      id: '20261129T110000Z-restore-abc123',
      operation: 'restore',
      details: { replacedDatabaseKeptAs: 'mastodon_production_before_20261129_110102' },
    } as unknown as HistoryRecord;
    const [owned, other] = withOwners(
      [leftover('mastodon_production_before_20261129_110102', DAY), leftover('mastodon_production_before_x', DAY)],
      [record],
    );
    expect(owned.owner).toBe('restore 20261129T110000Z-restore-abc123');
    expect(other.owner).toBeUndefined();
  });

  it(".partial files carry their writer's pid: a dead writer's is a leftover, a live one's is in use", async () => {
    const dead = spawnSync('true').pid!;
    mkdirSync(path.join(store.root, 'svc/prod/x'), { recursive: true });
    writeFileSync(path.join(store.root, `svc/prod/x/db.bin.${dead}.partial`), 'half');
    writeFileSync(path.join(store.root, `svc/prod/x/env.age.${process.pid}.partial`), 'writing');
    writeFileSync(path.join(store.root, 'svc/prod/x/old.bin.partial'), 'from an older coopctl');
    const found = (await storeLeftovers(store, 'svc/')).sort((a, b) => a.name.localeCompare(b.name));
    expect(found.map((l) => [l.kind, l.name, l.size, l.owner, l.inUse])).toEqual([
      ['partial-file', 'svc/prod/x/db.bin', 4, `pid ${dead} on this machine`, undefined],
      ['partial-file', 'svc/prod/x/env.age', 7, `pid ${process.pid} on this machine`, expect.stringContaining('still')],
      ['partial-file', 'svc/prod/x/old.bin', 21, undefined, undefined],
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

describe('backup.retention.leftovers', () => {
  const VALID = `services:
  mastodon:
    driver: ansible
    playbook: playbooks/mastodon.yml
    versions: { type: git, url: https://github.com/mastodon/mastodon.git }
    environments:
      prod: { inventory: inventories/prod, host: rhizome, health: { url: "https://social.coop" } }
backup:
  retention:
    leftovers: LEFTOVERS
`;
  const parse = (value: string) =>
    parseConfigText(VALID.replace('LEFTOVERS', value), `${process.cwd()}/coopctl.yaml`, configSchema()).config;

  it('is a duration; a bad one is named with its file, line and path', () => {
    expect(parse('3d').backup.retention.leftovers).toBe(3 * DAY);
    expect(parse('0s').backup.retention.leftovers).toBe(0);
    expect(() => parse('soon')).toThrow(
      /^coopctl\.yaml:10 backup\.retention\.leftovers: "soon" is not a duration \(try 30s, 5m, 1h\)/,
    );
  });
});
