import { describe, expect, it } from 'vitest';
import { lockStatusFrom, STALE_AFTER_MS, type LockInfo } from '../../../src/history/lock.js';
import { foldRecord, newRecordId, parseHistory } from '../../../src/history/records.js';

const now = new Date('2026-11-26T10:00:00Z');
const info = (over: Partial<LockInfo> = {}): LockInfo => ({
  id: 'abc',
  service: 'mastodon',
  env: 'prod',
  holder: 'Ana',
  from: 'ana@laptop',
  pid: 1,
  command: 'upgrade',
  kind: 'auto',
  since: '2026-11-26T09:59:00Z',
  heartbeatAt: '2026-11-26T09:59:50Z',
  ...over,
});

describe('lock status', () => {
  it('no lock', () => {
    expect(lockStatusFrom('null\n', now)).toMatchObject({ held: false, stale: false, holder: null });
  });
  it('a live automatic lock is held, not stale', () => {
    expect(lockStatusFrom(JSON.stringify(info()), now)).toMatchObject({
      held: true,
      holder: 'Ana',
      stale: false,
    });
  });
  it('an automatic lock without heartbeat goes stale', () => {
    const old = new Date(now.getTime() - STALE_AFTER_MS - 1000).toISOString();
    const s = lockStatusFrom(JSON.stringify(info({ heartbeatAt: old })), now);
    expect(s.stale).toBe(true);
    expect(s.staleReason).toMatch(/no heartbeat/);
  });
  it('a lock whose process, on this machine, is gone is stale at once', () => {
    const gone = (id: string) => (id === 'abc' ? { pid: 4242, alive: false } : undefined);
    const s = lockStatusFrom(JSON.stringify(info()), now, STALE_AFTER_MS, undefined, gone);
    expect(s).toMatchObject({ stale: true, staleReason: expect.stringMatching(/^process 4242 on .* is gone$/) });
  });
  it('a manual lock never goes stale by heartbeat', () => {
    expect(
      lockStatusFrom(JSON.stringify(info({ kind: 'manual', heartbeatAt: '2026-01-01T00:00:00Z' })), now).stale,
    ).toBe(false);
  });
  it('a lock directory without details is stale', () => {
    expect(lockStatusFrom('{}', now)).toMatchObject({ held: true, stale: true });
  });
});

describe('history records', () => {
  it('folds events into a record with transitions', () => {
    const id = newRecordId('upgrade', now);
    expect(id).toMatch(/^20261126T100000Z-upgrade-[0-9a-f]{6}$/);
    const text = [
      `#record ${id}.jsonl`,
      JSON.stringify({
        at: '2026-11-26T10:00:00Z',
        status: 'pending',
        fields: { service: 'mastodon', env: 'prod', operation: 'upgrade', from: '4.4.7', to: '4.4.8', operator: 'Ana' },
      }),
      JSON.stringify({ at: '2026-11-26T10:01:00Z', fields: { backupId: 'b1' } }),
      JSON.stringify({ at: '2026-11-26T10:05:00Z', status: 'succeeded', fields: { verification: { ok: true } } }),
      '#record 20261125T100000Z-upgrade-aaaaaa.jsonl',
      JSON.stringify({
        at: '2026-11-25T10:00:00Z',
        status: 'pending',
        fields: { service: 'mastodon', env: 'prod', operation: 'upgrade', operator: 'Bo' },
      }),
      '{"at": "torn',
    ].join('\n');
    const [a, b] = parseHistory(text);
    expect(a).toMatchObject({
      id,
      status: 'succeeded',
      from: '4.4.7',
      to: '4.4.8',
      backupId: 'b1',
      finishedAt: '2026-11-26T10:05:00Z',
    });
    expect(a.transitions.map((t) => t.status)).toEqual(['pending', 'succeeded']);
    expect(a.details).toEqual({ verification: { ok: true } });
    expect(b.status).toBe('pending');
    expect(foldRecord('x', [])).toBeUndefined();
  });
});
