import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';

/**
 * The round-trip time of a link, in user space (the kernel here has no `netem`): a TCP relay that holds
 * every chunk for half the round trip in each direction, like toxiproxy's latency toxic. Chunks leave in
 * the order they came; a slow reader pauses the writer once `highWater` bytes are in flight, as a full
 * TCP window would. Bandwidth is the kernel's job (`tc` on the veths).
 */
export interface RelayRoute {
  listen: { host: string; port: number };
  target: { host: string; port: number };
  /** Added to each direction: half the round trip. */
  delayMs: number;
}

/** Bytes in flight per direction before the sender is paused: more than a 100 Mbit/s × 15 ms window. */
const HIGH_WATER = 4 * 1024 * 1024;

export interface PipeStats {
  /** The most bytes that were held at once. */
  maxQueued: number;
}

/** Copies `from` to `to`, each chunk (and the end) delivered `delayMs` after it arrived. */
export function delayedPipe(from: Duplex, to: Duplex, delayMs: number, highWater = HIGH_WATER): PipeStats {
  const stats: PipeStats = { maxQueued: 0 };
  const queue: Array<{ due: number; chunk: Buffer | null }> = [];
  let queued = 0;
  let paused = false;
  let timer: NodeJS.Timeout | undefined;
  let draining = false;

  const pump = () => {
    timer = undefined;
    while (queue.length > 0 && !draining) {
      const wait = queue[0].due - performance.now();
      if (wait > 0) {
        timer = setTimeout(pump, wait);
        return;
      }
      const { chunk } = queue.shift()!;
      if (chunk === null) {
        to.end();
        return;
      }
      queued -= chunk.length;
      if (!to.write(chunk)) {
        draining = true;
        to.once('drain', () => {
          draining = false;
          pump();
        });
      }
      if (paused && queued < highWater / 2) {
        paused = false;
        from.resume();
      }
    }
  };
  const push = (chunk: Buffer | null) => {
    queue.push({ due: performance.now() + delayMs, chunk });
    if (timer === undefined && !draining && queue.length === 1) pump();
  };
  from.on('data', (chunk: Buffer) => {
    queued += chunk.length;
    stats.maxQueued = Math.max(stats.maxQueued, queued);
    push(chunk);
    if (queued >= highWater && !paused) {
      paused = true;
      from.pause();
    }
  });
  from.on('end', () => push(null));
  to.on('close', () => clearTimeout(timer));
  return stats;
}

function relayConnection(client: net.Socket, route: RelayRoute): void {
  const upstream = new net.Socket({ allowHalfOpen: true });
  let ended = 0;
  const closeBoth = () => {
    clearTimeout(connecting);
    client.destroy();
    upstream.destroy();
  };
  for (const s of [client, upstream]) {
    // A reset ends both; an orderly close waits for what is still held to be delivered.
    s.on('error', closeBoth);
    s.on('close', (hadError) => hadError && closeBoth());
    // Both directions finished: nothing more to carry.
    s.on('finish', () => {
      if (++ended === 2) closeBoth();
    });
  }
  // The connection reaches the far end half a round trip later, as the handshake would; what the client
  // sends meanwhile waits, as it would for the handshake.
  client.pause();
  const connecting = setTimeout(() => {
    upstream.connect({ host: route.target.host, port: route.target.port });
    for (const s of [client, upstream]) s.setNoDelay(true);
    delayedPipe(client, upstream, route.delayMs);
    delayedPipe(upstream, client, route.delayMs);
    client.resume();
  }, route.delayMs);
}

export interface Relay {
  close(): Promise<void>;
}

/** Listens on every route; resolves when all listen. */
export async function startRelay(routes: RelayRoute[]): Promise<Relay> {
  const open = new Set<net.Socket>();
  const servers = await Promise.all(
    routes.map(
      (route) =>
        new Promise<net.Server>((resolve, reject) => {
          const srv = net.createServer({ allowHalfOpen: true }, (c) => {
            open.add(c);
            c.on('close', () => open.delete(c));
            relayConnection(c, route);
          });
          srv.once('error', reject);
          srv.listen(route.listen.port, route.listen.host, () => resolve(srv));
        }),
    ),
  );
  return {
    async close() {
      const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const c of open) c.destroy();
      await Promise.all(closed);
    },
  };
}
