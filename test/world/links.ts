import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { SandboxLayout } from './layout.js';
import { waitForListener } from './net.js';
import { inNetns } from './netns.js';
import { worldScript } from './paths.js';
import { isRunning, readPid, spawnDetached, stopPidFile } from './processes.js';
import type { RelayRoute } from './relay.js';
import type { LinkName, SandboxState } from './state.js';

/**
 * The sandbox's links, shaped like production's: the operator at home, the hosts and the object store in a
 * data centre. Bandwidth is `tbf` on each veth, each direction on its sending end (the kernel has no
 * `netem`); the round trip is added by relays (relay.ts) in the path of SSH and S3.
 */
interface LinkProfile {
  rttMs: number;
  /** Mbit/s from the operator's end towards the hosts (and the store), and back. */
  towards: number;
  back: number;
}

const LINKS: Record<LinkName, LinkProfile | undefined> = {
  home: { rttMs: 30, towards: 20, back: 100 },
  lan: { rttMs: 1, towards: 1000, back: 1000 },
  none: undefined,
};
/** Between the hosts and the object store, whatever the operator's link. */
const DATA_CENTRE: LinkProfile = { rttMs: 1, towards: 1000, back: 1000 };

/** Ports in the object store's own namespace (nothing else listens there). */
export const STORE_PORTS = { s3rver: 9000, relay: 9001 };

const rate = (mbit: number) => (mbit >= 1000 ? `${mbit / 1000} Gbit/s` : `${mbit} Mbit/s`);

export function shapedLink(state: SandboxState): LinkProfile | undefined {
  return state.mode === 'netns' && state.link ? LINKS[state.link] : undefined;
}

export function describeLink(state: SandboxState): string {
  if (state.mode !== 'netns')
    return 'links not shaped (hosts on loopback ports: shaping needs network namespaces, root)';
  const p = shapedLink(state);
  if (!p) return 'link none (not shaped)';
  const dc = `store ${DATA_CENTRE.rttMs} ms, ${rate(DATA_CENTRE.towards)}`;
  return `link ${state.link}: ${p.rttMs} ms round trip, ${rate(p.towards)} towards the hosts, ${rate(p.back)} back; ${dc}`;
}

function tbf(dev: string, ns: string | undefined, mbit: number): void {
  // The bucket holds at least one 64 KiB GSO packet and 4 ms at the rate (HZ 250).
  const burst = Math.max(64 * 1024, Math.round((mbit * 1e6) / 8 / 250));
  const [cmd, ...args] = inNetns(ns, ['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'tbf']);
  args.push('rate', `${mbit}mbit`, 'burst', String(burst), 'latency', '100ms');
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Puts the qdiscs on every veth (again after the namespaces were recreated). */
export function shapeLinks(state: SandboxState): void {
  const p = shapedLink(state);
  const store = state.s3.netns;
  if (!p || !store) return;
  for (const n of [...state.hosts.map((h) => h.netns), store]) {
    if (!n) continue;
    tbf(n.outside, undefined, p.towards);
    tbf(n.inside, n.ns, p.back);
  }
  for (const h of state.hosts) {
    if (!h.netns || !h.storeLink) continue;
    tbf(h.storeLink.host, h.netns.ns, DATA_CENTRE.back);
    tbf(h.storeLink.store, store.ns, DATA_CENTRE.towards);
  }
}

async function startRelayProcess(
  layout: SandboxLayout,
  pidFile: string,
  ns: string | undefined,
  routes: RelayRoute[],
): Promise<void> {
  if (isRunning(readPid(pidFile) ?? -1)) return;
  mkdirSync(layout.links.dir, { recursive: true });
  const argv = inNetns(ns, [process.execPath, worldScript('world/relayMain.js'), JSON.stringify(routes)]);
  const child = spawnDetached(argv, { log: layout.links.log, pidFile });
  for (const r of routes) await waitForListener('the link relay', r.listen, child, layout.links.log);
}

/** The relays: the operator's end (SSH to each host, S3) and the store's end (the hosts' S3). */
export async function startRelays(layout: SandboxLayout, state: SandboxState): Promise<void> {
  const p = shapedLink(state);
  const store = state.s3.netns;
  const ports = state.s3.relayPorts;
  if (!p || !store || !ports) return;
  const half = p.rttMs / 2;
  const operator: RelayRoute[] = state.hosts.map((h) => ({
    listen: { host: h.relay!.address, port: h.relay!.port },
    target: { host: h.ssh.address, port: h.ssh.port },
    delayMs: half,
  }));
  operator.push({
    listen: { host: '127.0.0.1', port: ports.operator },
    target: { host: store.address, port: state.s3.port },
    delayMs: half,
  });
  await startRelayProcess(layout, layout.links.operatorPid, undefined, operator);
  const hosts: RelayRoute = {
    listen: { host: store.address, port: ports.hosts },
    target: { host: '127.0.0.1', port: state.s3.port },
    delayMs: DATA_CENTRE.rttMs / 2,
  };
  await startRelayProcess(layout, layout.links.storePid, store.ns, [hosts]);
}

export async function stopRelays(layout: SandboxLayout): Promise<void> {
  await Promise.all([stopPidFile(layout.links.operatorPid), stopPidFile(layout.links.storePid)]);
}
