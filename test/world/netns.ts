import { execFileSync } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { mkdirSync, rmdirSync } from 'node:fs';

/**
 * Network namespaces for sandbox hosts (root only): each host gets its own
 * address on a veth pair, so "cutting a host off" is a link going down, as
 * on a real network, and nothing is routed anywhere else. Addresses come
 * from 10.231.0.0/16 in /30 blocks, checked against what is in use, picked at random (see createNetns).
 */
export interface NetnsHost {
  ns: string;
  /** veth end in the root namespace, and inside the host's namespace. */
  outside: string;
  inside: string;
  gateway: string;
  address: string;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export function netnsSupported(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `coopctl-probe-${process.pid}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return true;
  } catch {
    return false;
  }
}

function usedBlocks(): Set<number> {
  const used = new Set<number>();
  for (const m of ip('-4', '-o', 'addr', 'show').matchAll(/inet 10\.231\.(\d+)\.(\d+)\//g))
    used.add(Number(m[1]) * 64 + Math.floor(Number(m[2]) / 4));
  return used;
}

async function withAllocationLock<T>(fn: () => T): Promise<T> {
  const lock = '/run/coopctl-netns.lock';
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (i > 200) throw new Error(`${lock} is held for too long (remove it if no sandbox is starting)`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return fn();
  } finally {
    rmdirSync(lock);
  }
}

/** A short, stable tag for a sandbox directory (interface names are at most 15 characters). */
export function sandboxTag(dir: string): string {
  return createHash('sha256').update(dir).digest('hex').slice(0, 5);
}

/** Creates a host's namespace; `again` recreates one (same names and addresses) after `sandbox down`. */
export function createNetns(tag: string, index: number, again?: NetnsHost): Promise<NetnsHost> {
  return withAllocationLock(() => {
    let h: NetnsHost;
    if (again) h = again;
    else {
      // From a random block on, not the lowest free one: a sandbox that is down keeps its addresses for `up` (the
      // `again` case), and the lowest free block is exactly the one it just gave back to the others.
      const used = usedBlocks();
      const blocks = 256 * 64;
      if (used.size >= blocks) throw new Error('no free address block in 10.231.0.0/16');
      let block = randomInt(blocks);
      while (used.has(block)) block = (block + 1) % blocks;
      const [a, b, c, d] = [10, 231, Math.floor(block / 64), (block % 64) * 4];
      h = {
        ns: `coopctl-${tag}-${index}`,
        outside: `cc${tag}${index}o`,
        inside: `cc${tag}${index}i`,
        gateway: `${a}.${b}.${c}.${d + 1}`,
        address: `${a}.${b}.${c}.${d + 2}`,
      };
    }
    deleteNetns(h);
    ip('netns', 'add', h.ns);
    ip('link', 'add', h.outside, 'type', 'veth', 'peer', 'name', h.inside);
    ip('link', 'set', h.inside, 'netns', h.ns);
    ip('addr', 'add', `${h.gateway}/30`, 'dev', h.outside);
    ip('link', 'set', h.outside, 'up');
    ip('-n', h.ns, 'addr', 'add', `${h.address}/30`, 'dev', h.inside);
    ip('-n', h.ns, 'link', 'set', h.inside, 'up');
    ip('-n', h.ns, 'link', 'set', 'lo', 'up');
    return h;
  });
}

export function netnsExists(ns: string): boolean {
  try {
    return ip('netns', 'list')
      .split('\n')
      .some((l) => l.split(' ')[0] === ns);
  } catch {
    return false;
  }
}

export function deleteNetns(h: Pick<NetnsHost, 'ns' | 'outside'>): void {
  for (const args of [
    ['link', 'del', h.outside],
    ['netns', 'del', h.ns],
  ]) {
    try {
      ip(...args);
    } catch {
      // not there
    }
  }
}

/**
 * Cuts the host off (or reconnects it) by taking its inside link down. The
 * outside route stays, so packets for it die on the veth: connections time
 * out as with a dead server, and nothing is sent anywhere else.
 */
export function setNetnsLink(h: Pick<NetnsHost, 'ns' | 'inside'>, up: boolean): void {
  ip('-n', h.ns, 'link', 'set', h.inside, up ? 'up' : 'down');
}

/** argv prefix that runs a command inside the host's namespace. */
export function inNetns(ns: string | undefined, argv: string[]): string[] {
  return ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
}

/**
 * The data-centre link between a host and the object store's namespace: a veth pair from one namespace to the
 * other, and a route in the host to the store's address over it (not over the operator's link). Both ends are
 * inside this sandbox's namespaces, where no other sandbox sees them: 10.232.<index>.0/30 is free there.
 */
export interface StoreLink {
  /** The veth end in the host's namespace, and in the store's. */
  host: string;
  store: string;
}

export function connectToStore(tag: string, index: number, host: NetnsHost, store: NetnsHost): StoreLink {
  const l = { host: `cc${tag}${index}h`, store: `cc${tag}${index}s` };
  const [hostSide, storeSide] = [`10.232.${index}.2`, `10.232.${index}.1`];
  ip('link', 'add', l.host, 'netns', host.ns, 'type', 'veth', 'peer', 'name', l.store, 'netns', store.ns);
  ip('-n', host.ns, 'addr', 'add', `${hostSide}/30`, 'dev', l.host);
  ip('-n', store.ns, 'addr', 'add', `${storeSide}/30`, 'dev', l.store);
  ip('-n', host.ns, 'link', 'set', l.host, 'up');
  ip('-n', store.ns, 'link', 'set', l.store, 'up');
  ip('-n', host.ns, 'route', 'add', `${store.address}/32`, 'via', storeSide, 'dev', l.host);
  return l;
}

export function linkExists(ns: string, dev: string): boolean {
  try {
    ip('-n', ns, 'link', 'show', 'dev', dev);
    return true;
  } catch {
    return false;
  }
}
