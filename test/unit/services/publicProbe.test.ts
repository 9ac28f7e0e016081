import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthConfig } from '../../../src/config/schema.js';
import { appHealth, appPublicProbes } from '../../../src/services/coopcloud/verify.js';
import { mastodonPublicProbes } from '../../../src/services/mastodon/config.js';
import { probeHolds } from '../../../src/targets/publicProbe.js';
import type { Target } from '../../../src/targets/target.js';

/** An app answering each path with the status its name says (`/302`, `/404`). */
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    const status = Number(req.url?.slice(1)) || 200;
    res.writeHead(status, status >= 300 && status < 400 ? { location: '/login' } : {}).end('<html>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const health = (url: string) => ({ url, requestTimeout: 2000, latencyMs: 2000 }) as HealthConfig;

describe('the public probe: one claim for the health checks and the monitoring', () => {
  it("an app is healthy when its URL answers or redirects (not followed), as the monitoring's module says", async () => {
    const at = async (status: number) =>
      (await appHealth({ envConfig: { health: health(`${base}/${status}`) } } as unknown as Target))?.healthy;
    expect(await at(200)).toBe(true);
    expect(await at(302)).toBe(true);
    expect(await at(404)).toBe(false);
    expect(await at(502)).toBe(false);
    expect(appPublicProbes(health(base))[0].statuses).toEqual(expect.arrayContaining([200, 302]));
  });

  it("Mastodon's web and streaming health answer 200 and OK, through the public URL", () => {
    const [web, streaming] = mastodonPublicProbes(health('https://social.coop/'));
    expect([web.url, streaming.url]).toEqual([
      'https://social.coop/health',
      'https://social.coop/api/v1/streaming/health',
    ]);
    expect(probeHolds(web, { status: 200, body: 'OK\n' })).toBe(true);
    expect(probeHolds(web, { status: 200, body: '<html>stale page</html>' })).toBe(false);
    expect(probeHolds(streaming, { status: 503, body: 'OK' })).toBe(false);
  });
});
