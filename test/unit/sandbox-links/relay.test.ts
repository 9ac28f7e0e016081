import net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { delayedPipe, type Relay, startRelay } from '../../world/relay.js';

const started: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});

/** An echo server on loopback; resolves its port. */
async function echoServer(): Promise<number> {
  const srv = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  started.push({ close: () => new Promise((r) => srv.close(r)) });
  return (srv.address() as net.AddressInfo).port;
}

async function relayTo(port: number, delayMs: number): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const listen = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const relay: Relay = await startRelay([
    { listen: { host: '127.0.0.1', port: listen }, target: { host: '127.0.0.1', port }, delayMs },
  ]);
  started.push(relay);
  return listen;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => resolve(s));
    s.setNoDelay(true);
    s.on('error', reject);
  });
}

describe('the link relay', () => {
  it('adds the round trip: an echo through a 2 × 20 ms relay takes at least 40 ms, the first one 60', async () => {
    const port = await relayTo(await echoServer(), 20);
    const opened = performance.now();
    const s = await connect(port);
    // the first exchange waits for the connection to reach the far end too: 20 ms more
    s.write('hello');
    await new Promise((r) => s.once('data', r));
    expect(performance.now() - opened).toBeGreaterThanOrEqual(59);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      s.write('ping');
      await new Promise((r) => s.once('data', r));
      times.push(performance.now() - t);
    }
    s.destroy();
    expect(Math.min(...times)).toBeGreaterThanOrEqual(39);
    expect(Math.max(...times)).toBeLessThan(400);
  });

  it('keeps the order of the bytes and carries the end after them (half-close)', async () => {
    const port = await relayTo(await echoServer(), 3);
    const s = await connect(port);
    const sent: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(`chunk ${i};`.repeat(1 + (i % 17)));
      sent.push(b);
      s.write(b);
    }
    s.end();
    const got: Buffer[] = [];
    s.on('data', (b) => got.push(b));
    await new Promise((r) => s.once('end', r));
    expect(Buffer.concat(got).length).toBe(Buffer.concat(sent).length);
    expect(Buffer.concat(got).equals(Buffer.concat(sent))).toBe(true);
  });

  it('delays every chunk by the same amount, in order (in process)', async () => {
    const from = new PassThrough();
    const to = new PassThrough();
    delayedPipe(from, to, 30);
    const arrivals: Array<[string, number]> = [];
    to.on('data', (b: Buffer) => arrivals.push([b.toString(), performance.now()]));
    const sentAt: number[] = [];
    for (const [i, gap] of [0, 5, 5, 10].entries()) {
      await new Promise((r) => setTimeout(r, gap));
      sentAt.push(performance.now());
      from.write(`c${i}`);
    }
    await new Promise((r) => setTimeout(r, 80));
    expect(arrivals.map(([c]) => c).join('')).toBe('c0c1c2c3');
    arrivals.forEach(([, at], i) => {
      expect(at - sentAt[i]).toBeGreaterThanOrEqual(29);
    });
  });

  it('backpressure: a reader that stops pauses the writer once the window is in flight', async () => {
    const from = new PassThrough({ highWaterMark: 16 * 1024 });
    const to = new PassThrough({ highWaterMark: 16 * 1024 });
    const window = 256 * 1024;
    const stats = delayedPipe(from, to, 1, window);
    const chunk = Buffer.alloc(8 * 1024);
    // A writer that respects backpressure, as a socket's does: it waits for 'drain', and gives up when none comes.
    let written = 0;
    while (written < 32 * 1024 * 1024) {
      written += chunk.length;
      if (from.write(chunk)) continue;
      const drained = await Promise.race([
        new Promise((r) => from.once('drain', () => r(true))),
        new Promise((r) => setTimeout(() => r(false), 200)),
      ]);
      if (!drained) break;
    }
    expect(stats.maxQueued).toBeLessThanOrEqual(window + chunk.length);
    // Nothing read from `to`: the writer stopped after about one window, not the 32 MiB it had.
    expect(written).toBeGreaterThanOrEqual(window);
    expect(written).toBeLessThan(2 * window);
    // Reading again drains everything, in order.
    let read = 0;
    to.on('data', (b: Buffer) => {
      read += b.length;
    });
    from.end();
    await new Promise((r) => to.once('end', r));
    expect(read).toBeGreaterThan(window);
  });
});
