import net from 'node:net';

/**
 * Below Linux's ephemeral range (32768–60999): a port the kernel hands out for listen(0) is handed out again
 * to the next outgoing connection (ssh, psql, HTTP clients) as soon as it is free, and one of those often
 * took it before the sandbox's server bound it. Random picks here collide with nothing but another sandbox.
 */
const LISTEN_PORTS = { from: 20_000, count: 12_000 };

function bindable(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, address, () => srv.close(() => resolve(true)));
  });
}

/** A free TCP port on the address, outside the ephemeral range (closed again before use). */
export async function freePort(address = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = LISTEN_PORTS.from + Math.floor(Math.random() * LISTEN_PORTS.count);
    if (await bindable(port, address)) return port;
  }
  throw new Error(
    `no free port on ${address} between ${LISTEN_PORTS.from} and ${LISTEN_PORTS.from + LISTEN_PORTS.count}`,
  );
}

/** The first line a server on host:port sends (an SSH server's "SSH-2.0-..." greeting). */
export function readBanner(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no banner from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('data', (b) => {
      buf += b.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf.slice(0, nl).trim());
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.on('end', () => {
      clearTimeout(timer);
      if (buf) resolve(buf.trim());
      else reject(new Error(`${host}:${port} closed the connection before a banner`));
    });
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not ready after ${timeoutMs} ms: ${(last as Error)?.message ?? last}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Waits until host:port accepts connections, or the process that should listen there exits. */
export function waitForListener(
  what: string,
  at: { host: string; port: number },
  child: { exitCode: number | null },
  log: string,
): Promise<void> {
  return waitFor(
    what,
    () =>
      new Promise<void>((resolve, reject) => {
        if (child.exitCode !== null) return reject(new Error(`${what} exited (see ${log})`));
        const s = net.connect(at, () => {
          s.destroy();
          resolve();
        });
        s.on('error', reject);
      }),
    30_000,
  );
}
