import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { matrixCheck } from '../../../src/checks/matrix.js';
import { MatrixClient, MatrixError, MatrixUnreachableError } from '../../../src/notify/matrix.js';
import { RoomNotices } from '../../../src/notify/notices.js';
import type { CheckContext } from '../../../src/targets/target.js';
import type { Workspace } from '../../../src/workspace/workspace.js';
import { Memo } from '../../../src/kernel/memo.js';
import { createHomeserver, DATA_FILE, MATRIX_FAULT_FILES, newAccessToken, readEvents } from '../../doubles/matrix.js';

const ROOM = '!ops:hs.test';
const ALIAS = '#ops:hs.test';
const BOT = '@bot:hs.test';

let dir: string;
let server: http.Server;
let homeserver: string;
let token: string;
const strangerToken = newAccessToken('stranger');

async function listen(): Promise<void> {
  server = createHomeserver(dir);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  homeserver = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-matrix-'));
  token = newAccessToken('bot');
  writeFileSync(
    path.join(dir, DATA_FILE),
    JSON.stringify({
      serverName: 'hs.test',
      users: { [token]: BOT, [strangerToken]: '@stranger:hs.test' },
      rooms: { [ROOM]: { aliases: [ALIAS], members: [BOT] } },
    }),
  );
  await listen();
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const client = (over: { token?: string; timeoutMs?: number; room?: string; homeserver?: string } = {}) =>
  new MatrixClient(
    {
      homeserver: over.homeserver ?? homeserver,
      room: over.room ?? ALIAS,
      token: over.token ?? token,
      timeoutMs: over.timeoutMs ?? 2000,
    },
    (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 50))),
  );
/** A loopback port nothing listens on (fetch refuses port 1 itself, as a "bad port"). */
async function closedUrl(): Promise<string> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}
const fault = (name: string, text = '') => writeFileSync(path.join(dir, name), text);
const notices = () => readEvents(dir).filter((e) => e.type === 'm.room.message');

describe('the Matrix client against the homeserver stand-in', () => {
  it('reads the token owner, resolves the alias, lists the members, finds no encryption, posts one m.notice', async () => {
    const c = client();
    expect(await c.whoami()).toBe(BOT);
    expect(await c.roomId()).toBe(ROOM);
    expect(await c.joinedMembers(ROOM)).toEqual([BOT]);
    expect(await c.encryption(ROOM)).toBeNull();
    const id = await c.sendNotice('coopctl.upgrade-abc123.start', 'hello room');
    expect(notices()).toEqual([
      expect.objectContaining({
        event_id: id,
        room_id: ROOM,
        sender: BOT,
        content: { msgtype: 'm.notice', body: 'hello room' },
      }),
    ]);
  });

  it('posts once when the same transaction is sent again: the same event id, no second event', async () => {
    const c = client();
    const first = await c.sendNotice('coopctl.r1.end', 'done');
    expect(await c.sendNotice('coopctl.r1.end', 'done')).toBe(first);
    expect(await c.sendNotice('coopctl.r1.start', 'begun')).not.toBe(first);
    expect(notices().map((e) => e.content.body)).toEqual(['done', 'begun']);
  });

  it('retries a send whose answer comes after the timeout, and the room still gets it once', async () => {
    fault(MATRIX_FAULT_FILES.slow, '1500');
    const started = Date.now();
    const id = await client({ timeoutMs: 400 }).sendNotice('coopctl.r2.start', 'slow one');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(notices()).toEqual([
      expect.objectContaining({ event_id: id, content: { msgtype: 'm.notice', body: 'slow one' } }),
    ]);
  });

  it('waits out a 429 M_LIMIT_EXCEEDED and posts on the retry, once', async () => {
    fault(MATRIX_FAULT_FILES.rateLimited);
    await client().sendNotice('coopctl.r3.start', 'limited');
    expect(notices()).toHaveLength(1);
  });

  it('reports a revoked token as 401 M_UNKNOWN_TOKEN, never naming the token', async () => {
    fault(MATRIX_FAULT_FILES.revoked);
    const err = await client()
      .whoami()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MatrixError);
    expect(err).toMatchObject({ status: 401, errcode: 'M_UNKNOWN_TOKEN' });
    expect((err as Error).message).not.toContain(token);
    await expect(client().sendNotice('coopctl.r4.start', 'x')).rejects.toMatchObject({ status: 401 });
    expect(notices()).toEqual([]);
  });

  it('tells an encrypted room by its m.room.encryption state', async () => {
    fault(MATRIX_FAULT_FILES.encrypted);
    expect(await client().encryption(ROOM)).toBe('m.megolm.v1.aes-sha2');
  });

  it('answers 403 M_FORBIDDEN to a user who is not in the room, 404 M_NOT_FOUND for an unknown alias', async () => {
    await expect(client({ token: strangerToken }).joinedMembers(ROOM)).rejects.toMatchObject({
      status: 403,
      errcode: 'M_FORBIDDEN',
    });
    await expect(client({ room: '#nope:hs.test' }).roomId()).rejects.toMatchObject({
      status: 404,
      errcode: 'M_NOT_FOUND',
    });
  });

  it('gives up on a homeserver that refuses connections after its tries', async () => {
    const down = await closedUrl();
    const err = await client({ homeserver: down })
      .sendNotice('coopctl.r5.start', 'x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MatrixUnreachableError);
    expect((err as Error).message).toContain('connection refused');
  });
});

describe('RoomNotices', () => {
  it('posts in order in the background and turns a failure into a warning', async () => {
    const room = new RoomNotices(ALIAS, async () => client());
    room.post('start', 'coopctl.r6.start', 'first');
    room.post('end', 'coopctl.r6.end', 'second');
    expect(await room.settled()).toEqual([]);
    expect(notices().map((e) => e.content.body)).toEqual(['first', 'second']);

    const down = client({ homeserver: await closedUrl() });
    const gone = new RoomNotices(ALIAS, async () => down);
    gone.post('end', 'coopctl.r7.end', 'lost');
    const warnings = await gone.settled();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/the end notice was not posted in #ops:hs\.test: .*connection refused/);
  });
});

describe('the matrix preflight check', () => {
  const ctxWith = (matrix: object | undefined) => {
    const memo = new Memo();
    const ws = {
      config: { notify: { matrix }, secrets: {} },
      loaded: { config: { secrets: {} }, resolvePath: (p: string) => p, locate: () => 'coopctl.yaml:9' },
      runner: undefined,
      once: (k: string, f: () => Promise<unknown>) => memo.once(k, f),
    } as unknown as Workspace;
    return { context: ws } as unknown as CheckContext;
  };
  const settings = () => ({ homeserver, room: ALIAS, token: { env: 'COOPCTL_TEST_MATRIX_TOKEN' }, timeout: 2000 });
  const run = () => {
    process.env.COOPCTL_TEST_MATRIX_TOKEN = token;
    return matrixCheck.run(ctxWith(settings()));
  };

  it('applies only when notify.matrix is set', () => {
    expect(matrixCheck.appliesTo?.({} as never, ctxWith(undefined))).toBe(false);
    expect(matrixCheck.appliesTo?.({} as never, ctxWith(settings()))).toBe(true);
  });

  it('passes when the token works, its user is joined and the room is not encrypted', async () => {
    expect(await run()).toMatchObject({ status: 'pass', message: expect.stringContaining(`${BOT} is joined`) });
  });

  it('warns (never fails) on an encrypted room, saying why', async () => {
    fault(MATRIX_FAULT_FILES.encrypted);
    expect(await run()).toMatchObject({
      status: 'warn',
      message: expect.stringMatching(/end-to-end encrypted \(m\.megolm\.v1\.aes-sha2\).*unencrypted/),
    });
  });

  it('warns on a revoked token, naming its reference and not its value', async () => {
    fault(MATRIX_FAULT_FILES.revoked);
    const r = await run();
    expect(r).toMatchObject({ status: 'warn', message: expect.stringContaining('env:COOPCTL_TEST_MATRIX_TOKEN') });
    expect(JSON.stringify(r)).not.toContain(token);
  });

  it('warns when the user is not joined, and when the homeserver is down', async () => {
    process.env.COOPCTL_TEST_MATRIX_TOKEN = strangerToken;
    const stranger = await matrixCheck.run(ctxWith({ ...settings(), token: { env: 'COOPCTL_TEST_MATRIX_TOKEN' } }));
    expect(stranger).toMatchObject({ status: 'warn', message: expect.stringContaining('is not joined') });
    process.env.COOPCTL_TEST_MATRIX_TOKEN = token;
    const down = await matrixCheck.run(ctxWith({ ...settings(), homeserver: await closedUrl() }));
    expect(down).toMatchObject({ status: 'warn', message: expect.stringContaining('does not answer') });
  });
});
