import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readSwarm, swarmPath } from '../doubles/abra/swarm.js';
import { sandboxLayout } from './layout.js';
import { freePort } from './net.js';
import { createNetns, sandboxTag } from './netns.js';
import { readState } from './state.js';

/**
 * A stopped sandbox copied to `dir` as if it had been built there: the built files (a deploy by the playbook,
 * seeded databases, recipes, the pass store) are kept, and everything that names where it runs is moved: its
 * directory, its tag (the namespaces, veths and become login are named from it), the addresses of its namespaces
 * (created here, in the copy's netns.json, so `sandbox down` deletes them) and the loopback ports it listens on.
 * `sandbox up --dir DIR` then starts it as it starts any stopped sandbox. Far cheaper than a build (the playbook
 * run, initdb): test/helpers/sandbox.ts copies one template per test run.
 */
export async function copySandbox(template: string, dir: string): Promise<void> {
  const from = sandboxLayout(template);
  const to = sandboxLayout(dir);
  const state = readState(from.state);
  if (state.link && state.link !== 'none')
    throw new Error(`${template}: only an unshaped sandbox (--link none) is copied`);
  execFileSync('cp', ['-a', '--', `${from.root}/.`, to.root]);

  const [oldTag, newTag] = [sandboxTag(from.root), sandboxTag(to.root)];
  const literal = new Map<string, string>([
    [from.root, to.root],
    [`coopctl-${oldTag}`, `coopctl-${newTag}`],
    [`cc${oldTag}`, `cc${newTag}`],
  ]);
  const addresses = new Map<string, string>();
  const ports = new Map<number, number>();
  const namespaces = [...state.hosts.map((h) => h.netns), state.s3.netns];
  const made: Array<{ ns: string; outside: string }> = [];
  for (const [i, n] of namespaces.entries()) {
    if (!n) continue;
    const fresh = await createNetns(newTag, i);
    made.push({ ns: fresh.ns, outside: fresh.outside });
    writeFileSync(path.join(to.root, 'netns.json'), JSON.stringify(made));
    addresses.set(n.address, fresh.address);
    addresses.set(n.gateway, fresh.gateway);
  }
  // On loopback (every port, without namespaces; the apps' traefik stand-ins always) a port was picked free for
  // the template: the copy needs its own.
  const loopback = [
    ...state.hosts.flatMap((h) => (h.netns ? [] : [h.ssh, h.web, h.streaming, h.proxy])),
    ...(state.s3.netns ? [] : [{ port: state.s3.port }]),
    ...(state.matrix ? [{ port: state.matrix.port }] : []),
    ...state.coopcloud.apps,
    // the apps' MariaDB servers listen on loopback too (their sockets, under the root, move with it)
    ...Object.values(readSwarm(swarmPath(from.host(state.coopcloud.host))).apps).flatMap((a) =>
      a.db?.engine === 'mariadb' ? [{ port: a.db.port }] : [],
    ),
  ];
  for (const at of loopback) if (at && !ports.has(at.port)) ports.set(at.port, await freePort());

  rewriteTree(to.root, replacer(literal, addresses, ports));
  // the become login's home as the playbook left it, owned by the template's login: a new login gets a new one
  for (const h of state.hosts)
    rmSync(path.join(to.host(h.name), 'home', `coopctl-${oldTag}`), { recursive: true, force: true });
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** One pass over a text (so that no replacement is replaced again): literals, whole addresses, ports after : or a space. */
function replacer(literal: Map<string, string>, addresses: Map<string, string>, ports: Map<number, number>) {
  const parts = [
    ...[...literal.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp),
    ...[...addresses.keys()].map((a) => `(?<![\\d.])${escapeRegExp(a)}(?![\\d])`),
    ...[...ports.keys()].map((p) => `(?<=[:\\s"'=])${p}(?!\\d)`),
  ];
  const to = new Map<string, string>([
    ...literal,
    ...addresses,
    ...[...ports].map(([a, b]) => [String(a), String(b)] as [string, string]),
  ]);
  const re = new RegExp(parts.join('|'), 'g');
  return (text: string) => text.replace(re, (m) => to.get(m) ?? m);
}

/** Every text file under `root` (git's objects and binary files, PostgreSQL's pages, left as they are). */
function rewriteTree(root: string, replace: (text: string) => string): void {
  for (const name of readdirSync(root)) {
    const file = path.join(root, name);
    const st = lstatSync(file);
    if (st.isDirectory()) {
      // the apps' Docker volumes hold their files (test/world/coopcloud/volumes.ts), never a path of the sandbox
      if (name === 'volumes' && path.basename(root) === 'docker') continue;
      // git's objects are compressed; its config (a remote's path) is text and is rewritten
      if (!(name === 'objects' && (path.basename(root) === '.git' || root.endsWith('.git'))))
        rewriteTree(file, replace);
      continue;
    }
    if (!st.isFile() || st.size > 4 * 1024 * 1024) continue;
    const bytes = readFileSync(file);
    if (bytes.includes(0)) continue;
    const text = bytes.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(bytes)) continue; // not UTF-8: not a file the world wrote
    const next = replace(text);
    if (next !== text) writeFileSync(file, next);
  }
}
