import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { S3Settings } from '../../src/backup/store/s3.js';
import { freePort } from '../world/net.js';

/** s3rver 3.7.1 (CommonJS, untyped): just what the tests use. */
interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverClass = new (opts: Record<string, unknown>) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;

/** A real S3-compatible server on 127.0.0.1 with one bucket, data in a temp dir. */
export interface S3Server {
  endpoint: string;
  port: number;
  dir: string;
  bucket: string;
  running: boolean;
  /** Settings for S3Store against this server (s3rver's fixed credentials). */
  settings(overrides?: Partial<S3Settings>): S3Settings;
  /** Stops listening and cuts open connections at once (an outage, mid-request included). */
  stop(): Promise<void>;
  /** Calls fn on every request the server receives (method, url) until it stops. */
  onRequest(fn: (method: string, url: string) => void): void;
  /** Starts again on the same port, with the same data. */
  start(): Promise<void>;
  /** stop() and remove the data. */
  destroy(): Promise<void>;
}

export async function startS3(bucket = 'coopctl-backups'): Promise<S3Server> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-s3-'));
  const port = await freePort();
  let server: S3rverInstance | undefined;
  const s: S3Server = {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    dir,
    bucket,
    running: false,
    settings: (overrides = {}) => ({
      endpoint: s.endpoint,
      region: 'us-east-1',
      bucket,
      prefix: 'coopctl/',
      forcePathStyle: true,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      maxAttempts: 2,
      connectTimeoutMs: 2_000,
      ...overrides,
    }),
    onRequest(fn) {
      server?.httpServer?.on('request', (req: { method?: string; url?: string }) =>
        fn(req.method ?? '', req.url ?? ''),
      );
    },
    async start() {
      server = new S3rver({
        address: '127.0.0.1',
        port,
        directory: dir,
        silent: true,
        configureBuckets: [{ name: bucket }],
      });
      await server.run();
      s.running = true;
    },
    async stop() {
      if (!server || !s.running) return;
      const closing = server.close();
      server.httpServer?.closeAllConnections();
      await closing;
      s.running = false;
    },
    async destroy() {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await s.start();
  return s;
}
