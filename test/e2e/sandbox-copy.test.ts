import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { readSwarm, swarmPath } from '../doubles/abra/swarm.js';
import { appSql } from '../helpers/appSql.js';
import { json } from '../helpers/cli.js';
import { startSandbox, sshToHost, type TestSandbox } from '../helpers/sandbox.js';
import { readState, type SandboxState } from '../world/state.js';

/**
 * The sandboxes of the end-to-end files are copies of one built per run (test/world/copy.ts): each copy must be
 * a sandbox of its own, as if built where it is, and two of them must run side by side.
 */

function textFilesNaming(root: string, needle: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (!entry.isFile() || entry.parentPath.split(path.sep).includes('.git') || statSync(file).size > 4 << 20) continue;
    const bytes = readFileSync(file);
    if (!bytes.includes(0) && bytes.toString('utf8').includes(needle)) found.push(path.relative(root, file));
  }
  return found;
}

const addresses = (s: SandboxState) => [
  ...s.hosts.flatMap((h) =>
    [h.ssh, h.web, h.streaming, h.proxy].filter(Boolean).map((a) => `${a!.address}:${a!.port}`),
  ),
  ...s.coopcloud.apps.map((a) => `127.0.0.1:${a.port}`),
  ...(s.s3.endpoint ? [s.s3.endpoint] : []),
  // the Matrix homeserver stand-in, on loopback: each copy its own port
  `127.0.0.1:${s.matrix!.port}`,
];

let copies: TestSandbox[] = [];
let states: SandboxState[] = [];

beforeAll(async () => {
  // the first file of a run builds the template: as long as a sandbox of its own took
  copies = await Promise.all([startSandbox(), startSandbox()]);
  states = copies.map((sb) => readState(path.join(sb.dir, 'sandbox.json')));
}, 600_000);

afterAll(async () => {
  await Promise.all(copies.map((sb) => sb.down()));
});

describe("a copy of the run's sandbox", () => {
  it('names nothing of the template: its own dir in every file, its own addresses and login', () => {
    const template = path.join(inject('sandboxTemplateDir'), 'sandbox');
    for (const [i, sb] of copies.entries()) {
      expect(states[i].dir).toBe(sb.dir);
      expect(textFilesNaming(sb.dir, template)).toEqual([]);
    }
    const [a, b] = states.map(addresses);
    expect(a.filter((x) => b.includes(x))).toEqual([]);
    const logins = states.map((s) => s.hosts.find((h) => h.login)?.login);
    if (logins[0]) expect(logins[0]).not.toBe(logins[1]);
  });

  it('two copies run side by side: every service reachable, Mastodon at 4.4.7, alpha reached through its own login', async () => {
    for (const [i, sb] of copies.entries()) {
      const doc = json<{ services: Array<{ service: string; env: string; reachable: boolean; version: string }> }>(
        await sb.run(['--json', 'status']),
      );
      expect(doc.services.every((s) => s.reachable)).toBe(true);
      expect(doc.services.filter((s) => s.service === 'mastodon').map((s) => s.version)).toEqual(['4.4.7', '4.4.7']);
      const login = states[i].hosts.find((h) => h.name === 'alpha')!.login;
      if (login)
        expect(sshToHost(sb.dir, 'alpha', 'sudo -n true && id -un', login).stdout.toString().trim()).toBe(login);
    }
  });

  it("each copy's app databases are its own: MariaDB servers on their own ports and sockets, with their data", () => {
    const template = readSwarm(swarmPath(path.join(inject('sandboxTemplateDir'), 'sandbox', 'hosts', 'hypha'))).apps;
    const servers = copies.map((sb) =>
      Object.values(readSwarm(swarmPath(path.join(sb.dir, 'hosts', 'hypha'))).apps).flatMap((a) =>
        a.db?.engine === 'mariadb' ? [a.db] : [],
      ),
    );
    const templatePorts = Object.values(template).flatMap((a) => (a.db?.engine === 'mariadb' ? [a.db.port] : []));
    expect(templatePorts).toHaveLength(3);
    const ports = servers.flat().map((db) => db.port);
    expect(new Set([...ports, ...templatePorts]).size).toBe(ports.length + templatePorts.length);
    for (const [i, sb] of copies.entries()) {
      expect(servers[i].map((db) => db.socket!.startsWith(`${sb.dir}/`) && db.dir.startsWith(`${sb.dir}/`))).toEqual([
        true,
        true,
        true,
      ]);
      expect(appSql(sb.dir, 'wiki_sandbox', 'mediawiki', 'SELECT page_title FROM page WHERE page_id = 1')).toBe(
        'Main_Page',
      );
    }
  });

  it("each copy's coopctl.yaml posts to its own Matrix homeserver, which runs there", async () => {
    for (const [i, sb] of copies.entries()) {
      const config = parse(readFileSync(sb.config, 'utf8')) as { notify: { matrix: { homeserver: string } } };
      expect(config.notify.matrix.homeserver).toBe(`http://127.0.0.1:${states[i].matrix!.port}`);
      const r = await fetch(`${config.notify.matrix.homeserver}/_matrix/client/v3/account/whoami`);
      expect([r.status, ((await r.json()) as { errcode: string }).errcode]).toEqual([401, 'M_MISSING_TOKEN']);
    }
  });
});
