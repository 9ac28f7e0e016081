import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_FILE, readEvents, readSends, type HomeserverData } from '../doubles/matrix.js';
import { json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { MATRIX_ROOM } from '../world/matrix.js';

/**
 * The notices in the operators' Matrix room (the sandbox's homeserver stand-in, test/doubles/matrix.ts): an upgrade
 * posts one when it starts and one when it ends, each once, also when a post's answer comes too late and it is sent
 * again; a homeserver that is down costs a warning, never the change; preflight warns on an encrypted room.
 */

interface UpgradeDoc {
  ok: boolean;
  record: { id: string; status: string; operator: string };
}

let sb: TestSandbox;
let matrixDir: string;
let token: string;

beforeAll(async () => {
  sb = await startSandbox();
  matrixDir = path.join(sb.dir, 'matrix');
  const data = JSON.parse(readFileSync(path.join(matrixDir, DATA_FILE), 'utf8')) as HomeserverData;
  token = Object.keys(data.users)[0];
}, 600_000);

afterAll(async () => {
  await sb?.down();
});

const noticesOf = (recordId: string) =>
  readEvents(matrixDir).filter(
    (e) => e.room_id === MATRIX_ROOM.id && e.type === 'm.room.message' && String(e.content.body).includes(recordId),
  );

describe('notices of a change in the Matrix room', () => {
  it('an upgrade posts a start and an end notice, each exactly once, though every first answer is too late', async () => {
    // the homeserver stores each new post but answers after 10 s; coopctl gives up waiting after 3 s and sends it
    // again with the same transaction id
    expect((await sb.fault('matrix', 'matrix-slow')).code).toBe(0);
    const r = await sb.run(['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--yes'], {});
    await sb.fault('--clear');
    expect(r.code, r.stderr).toBe(0);
    const doc = json<UpgradeDoc>(r);
    expect(doc.record.status).toBe('succeeded');
    const notices = noticesOf(doc.record.id);
    expect(notices.map((e) => e.content.msgtype)).toEqual(['m.notice', 'm.notice']);
    const [start, end] = notices.map((e) => String(e.content.body));
    expect(start).toBe(
      `coopctl: ${doc.record.operator} started upgrade of mastodon/alpha on alpha: 4.4.7 → 4.4.8 (record ${doc.record.id})`,
    );
    expect(end.split('\n')[0]).toBe('coopctl upgrade mastodon/alpha: 4.4.7 → 4.4.8 — succeeded');
    expect(end).toContain('mastodon/alpha runs 4.4.8, verified healthy');
    expect(notices.map((e) => e.txn.split(' ')[1].split('/').pop())).toEqual([
      `coopctl.${doc.record.id}.start`,
      `coopctl.${doc.record.id}.end`,
    ]);
    // each was sent twice: the first answer came too late, the second was the homeserver's answer to a retransmission
    const sends = readSends(matrixDir).filter((x) => x.txn.includes(doc.record.id));
    expect(sends.map((x) => [x.txn.split('/').pop(), x.retransmission])).toEqual([
      [`coopctl.${doc.record.id}.start`, false],
      [`coopctl.${doc.record.id}.start`, true],
      [`coopctl.${doc.record.id}.end`, false],
      [`coopctl.${doc.record.id}.end`, true],
    ]);
    // the preflight of the change proved the room, and nothing was reported missing
    expect(r.stderr).not.toMatch(/notice was not posted/);
    expect(JSON.stringify(doc)).toMatch(/"id":"matrix","status":"pass"/);
  }, 600_000);

  it('with the homeserver down the upgrade still succeeds (exit 0), with a warning in the report', async () => {
    expect((await sb.fault('matrix', 'matrix-down')).code).toBe(0);
    const before = readEvents(matrixDir).length;
    const r = await sb.run(['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.0', '--yes']);
    await sb.fault('--clear');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/### coopctl upgrade mastodon\/alpha: 4\.4\.8 → 4\.5\.0 — succeeded/);
    expect(r.stdout).toMatch(
      /- warning: the start notice was not posted in #tech-ops:matrix\.sandbox: .*connection refused/,
    );
    expect(r.stdout).toMatch(/- warning: the end notice was not posted/);
    expect(r.stderr).toMatch(/the end notice was not posted in #tech-ops:matrix\.sandbox/);
    expect(r.stderr).toMatch(/! matrix: .* does not answer/);
    // back up, the homeserver got nothing of that change afterwards either
    expect(readEvents(matrixDir)).toHaveLength(before);
  }, 600_000);

  it('preflight warns, naming why, when the room is encrypted; the check passes otherwise', async () => {
    expect((await sb.fault('matrix', 'room-encrypted')).code).toBe(0);
    const r = await sb.run(['--json', 'preflight', 'mastodon', '--env', 'prod']);
    await sb.fault('--clear');
    const doc = json<{ ok: boolean; checks: Array<{ id: string; status: string; message: string; fix?: string }> }>(r);
    const matrix = doc.checks.find((c) => c.id === 'matrix');
    expect(matrix).toMatchObject({ status: 'warn' });
    expect(matrix?.message).toMatch(/end-to-end encrypted \(m\.megolm\.v1\.aes-sha2\): coopctl has no Megolm/);
    expect(doc.ok).toBe(true);
    expect(r.code).toBe(0);
    const clear = json<typeof doc>(await sb.run(['--json', 'preflight', 'mastodon', '--env', 'prod']));
    expect(clear.checks.find((c) => c.id === 'matrix')?.status).toBe('pass');
  }, 300_000);

  it('the access token is in no output, history record or log of those runs', async () => {
    const history = await sb.run(['--json', 'history', 'mastodon', '--env', 'alpha']);
    expect(history.code).toBe(0);
    expect(history.stdout).not.toContain(token);
    const logs = path.join(sb.dir, 'hosts', 'alpha', 'var', 'lib', 'coopctl');
    const grep = spawnSync('grep', ['-rlF', '--', token, logs], { encoding: 'utf8' });
    expect(grep.status, grep.stdout).toBe(1); // 1: no file has it
  });
});
