import http from 'node:http';
import https from 'node:https';

interface HttpResult {
  status: number;
  body: string;
  ms: number;
  /** The Content-Type header, '' when there is none. */
  contentType: string;
}

/** A GET with a hard deadline; never throws for HTTP status, only for no answer. */
export function httpGet(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<HttpResult> {
  const started = performance.now();
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(
      url,
      { headers: { 'user-agent': 'coopctl', accept: 'application/json, text/plain', ...headers }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 1024 * 1024) chunks.push(c);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - started,
            contentType: res.headers['content-type'] ?? '',
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) =>
      reject(
        new Error(
          `${url}: ${(err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'connection refused' : err.message}`,
        ),
      ),
    );
  });
}

export function joinUrl(base: string, p: string): string {
  return base.replace(/\/+$/, '') + p;
}

/** Why a fetch() got no answer: refused, its deadline, or the network's own error code. */
export function fetchFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  if (e.cause?.code === 'ECONNREFUSED') return 'connection refused';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
