import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthConfig } from '../../../src/config/schema.js';
import { checkFederation, federationProbes } from '../../../src/services/federation.js';
import { probeHolds } from '../../../src/targets/publicProbe.js';

/**
 * An instance on DOMAIN reached at a loopback address, answering as Mastodon does (app/controllers/well_known/
 * webfinger_controller.rb, app/serializers/webfinger_serializer.rb, accounts_controller.rb format.json): how it
 * answers the actor is switched per test.
 */
const DOMAIN = 'social.coop.test';
let actorAnswer: { type: string; body: unknown } = { type: '', body: null };
const hosts: string[] = [];
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/.well-known/webfinger') {
      if (url.searchParams.get('resource') !== `acct:admin@${DOMAIN}`) return void res.writeHead(404).end();
      const jrd = {
        subject: `acct:admin@${DOMAIN}`,
        links: [
          { rel: 'http://webfinger.net/rel/profile-page', type: 'text/html', href: `https://${DOMAIN}/@admin` },
          { rel: 'self', type: 'application/activity+json', href: `https://${DOMAIN}/users/admin` },
        ],
      };
      return void res
        .writeHead(200, { 'content-type': 'application/jrd+json; charset=utf-8' })
        .end(JSON.stringify(jrd));
    }
    if (url.pathname === '/users/admin') {
      const body = typeof actorAnswer.body === 'string' ? actorAnswer.body : JSON.stringify(actorAnswer.body);
      return void res.writeHead(200, { 'content-type': actorAnswer.type }).end(body);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const health = (account: string): HealthConfig =>
  ({ url: base, requestTimeout: 2000, latencyMs: 2000, federation: { account, domain: DOMAIN } }) as HealthConfig;
const check = (account = 'admin') => checkFederation(health(account), health(account).federation!);
const person = { id: `https://${DOMAIN}/users/admin`, type: 'Person', preferredUsername: 'admin' };

describe('federation: WebFinger for the account, then its actor as ActivityPub', () => {
  it('holds when the actor is served as application/activity+json with the id the link names', async () => {
    actorAnswer = { type: 'application/activity+json; charset=utf-8', body: person };
    hosts.length = 0;
    const r = await check();
    expect(r, r.message).toMatchObject({ id: 'federation', ok: true });
    expect(r.message).toContain(`actor https://${DOMAIN}/users/admin`);
    // both requests went to the health URL's address, as for the domain
    expect(hosts).toEqual([DOMAIN, DOMAIN]);
  });

  it('fails when the actor comes back as the HTML profile page (a cache ignoring Vary: Accept)', async () => {
    actorAnswer = { type: 'text/html; charset=utf-8', body: '<!DOCTYPE html><html></html>' };
    expect(await check()).toMatchObject({ ok: false, message: expect.stringMatching(/served as text\/html/) });
  });

  it('fails when the actor is not an actor, or is another one', async () => {
    actorAnswer = { type: 'application/activity+json', body: { ...person, type: 'Note' } };
    expect((await check()).message).toMatch(/type "Note" is not an actor's/);
    actorAnswer = { type: 'application/activity+json', body: { ...person, id: `https://${DOMAIN}/users/other` } };
    expect((await check()).message).toMatch(/id "https:\/\/social\.coop\.test\/users\/other" is not/);
  });

  it('fails, naming the account, when WebFinger does not know it (404)', async () => {
    const r = await check('nobody');
    expect(r).toMatchObject({ ok: false, message: `nobody@${DOMAIN}: WebFinger answered HTTP 404` });
  });

  it("the monitoring's probe asks WebFinger with the same Host and holds on the answer the check accepts", () => {
    const [p] = federationProbes(health('admin'), health('admin').federation);
    expect(p.url).toBe(`${base}/.well-known/webfinger?resource=acct%3Aadmin%40${DOMAIN}`);
    expect(p.headers).toEqual({ Accept: 'application/jrd+json', Host: DOMAIN });
    const jrd = `{"subject":"acct:admin@${DOMAIN}","links":[{"rel":"self","type":"application/activity+json"}]}`;
    expect(probeHolds(p, { status: 200, body: jrd })).toBe(true);
    expect(probeHolds(p, { status: 200, body: jrd.replace('admin@', 'other@') })).toBe(false);
    expect(federationProbes(health('admin'), undefined)).toEqual([]);
  });
});
