import net from 'node:net';

/** A free TCP port on the address (the kernel picks one; closed again before use). */
export function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, address, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
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
