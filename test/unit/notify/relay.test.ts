import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient } from '../../../src/notify/matrix.js';
import { alertRelay, listen } from '../../../src/notify/relay.js';
import { startAlertmanager, type TestAlertmanager } from '../../helpers/alertmanager.js';
import { waitFor } from '../../helpers/upgradeSandbox.js';
import { coopctl, FIXTURE } from '../monitoring/cli.js';
import { createHomeserver, DATA_FILE, newAccessToken, readEvents } from '../../doubles/matrix.js';

/**
 * The relay of Alertmanager's webhooks to the room: the real Alertmanager fires and resolves an alert, the relay
 * posts one notice for each, through the homeserver stand-in (test/doubles/matrix.ts); a retried webhook posts once.
 */

const ROOM = '!ops:hs.test';
let dir: string;
let homeserver: http.Server;
let relay: http.Server;
let relayUrl: string;
let am: TestAlertmanager;
const lines: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-relay-'));
  const token = newAccessToken('bot');
  writeFileSync(
    path.join(dir, DATA_FILE),
    JSON.stringify({
      serverName: 'hs.test',
      users: { [token]: '@bot:hs.test' },
      rooms: { [ROOM]: { aliases: [], members: ['@bot:hs.test'] } },
    }),
  );
  homeserver = createHomeserver(dir);
  const hs = await listen(homeserver, '127.0.0.1', 0);
  const client = new MatrixClient({ homeserver: `http://127.0.0.1:${hs.port}`, room: ROOM, token, timeoutMs: 2000 });
  relay = alertRelay(client, (l) => lines.push(l));
  relayUrl = `http://127.0.0.1:${(await listen(relay, '127.0.0.1', 0)).port}/alerts`;
  am = await startAlertmanager({ webhook: relayUrl });
}, 30_000);

afterAll(async () => {
  await am?.stop();
  for (const s of [relay, homeserver]) {
    s?.closeAllConnections();
    await new Promise((r) => s?.close(r));
  }
  rmSync(dir, { recursive: true, force: true });
});

const notices = () =>
  readEvents(dir)
    .filter((e) => e.type === 'm.room.message')
    .map((e) => e.content as { msgtype: string; body: string });

async function postAlert(endsAt: Date) {
  const r = await fetch(`${am.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([
      {
        labels: { alertname: 'ServiceDown', service: 'mastodon', env: 'alpha', severity: 'critical' },
        annotations: { summary: 'mastodon/alpha: http://alpha/health does not answer as it should' },
        startsAt: new Date(Date.now() - 60_000).toISOString(),
        endsAt: endsAt.toISOString(),
      },
    ]),
  });
  expect(r.status).toBe(200);
}

describe("the relay of Alertmanager's alerts to the room", () => {
  it('a firing alert, then its resolution: one notice each, with the alert name and its summary', async () => {
    await postAlert(new Date(Date.now() + 3_600_000));
    await waitFor('the firing notice', () => notices().length >= 1, 20_000);
    await postAlert(new Date(Date.now() - 1000));
    await waitFor('the resolved notice', () => notices().length >= 2, 20_000);
    // group_interval 1s: give Alertmanager time to send anything more it would (it must not)
    await new Promise((r) => setTimeout(r, 2500));
    expect(notices()).toEqual([
      {
        msgtype: 'm.notice',
        body:
          'Alertmanager FIRING: ServiceDown (env=alpha service=mastodon)\n' +
          '- firing ServiceDown: mastodon/alpha: http://alpha/health does not answer as it should',
      },
      {
        msgtype: 'm.notice',
        body:
          'Alertmanager RESOLVED: ServiceDown (env=alpha service=mastodon)\n' +
          '- resolved ServiceDown: mastodon/alpha: http://alpha/health does not answer as it should',
      },
    ]);
  });

  it('the same notification sent again (a webhook retry) is posted once; a bad body is refused 400', async () => {
    const before = notices().length;
    const payload = JSON.stringify({
      version: '4',
      groupKey: '{}:{alertname="DiskAlmostFull"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'operators',
      groupLabels: { alertname: 'DiskAlmostFull' },
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://am',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'DiskAlmostFull', host: 'prod' },
          annotations: { summary: 'prod: / is almost full' },
          startsAt: '2026-12-08T01:00:00Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: '',
          fingerprint: 'abc',
        },
      ],
    });
    const send = (body: string) => fetch(relayUrl, { method: 'POST', body });
    const [a, b] = [await send(payload), await send(payload)];
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await a.text()).toBe(await b.text()); // the same event, answered again
    expect(
      notices()
        .slice(before)
        .map((n) => n.body),
    ).toEqual(['Alertmanager FIRING: DiskAlmostFull\n- firing DiskAlmostFull: prod: / is almost full']);
    const bad = await send('{"version":"3"}');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/version "3": only "4" is known/);
  });
});

describe('coopctl notify relay: bad input is exit 2, and nothing listens', () => {
  it('an address that is not HOST:PORT; a file without notify.matrix', async () => {
    const config = path.join(FIXTURE, 'coopctl.yaml');
    const bad = await coopctl(['-c', config, 'notify', 'relay', '--listen', '127.0.0.1:99999']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--listen: "127\.0\.0\.1:99999" is not HOST:PORT or PORT/);
    const none = await coopctl(['-c', config, 'notify', 'relay', '--listen', '0']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/coopctl\.yaml has no notify\.matrix to post in/);
  });
});
