// The sandbox's object store: s3rver, run detached by `sandbox up` (on loopback, or in its own network namespace).
// Usage: s3.js --dir DIR --port PORT --bucket NAME [--address ADDR]
// source: jamhall/s3rver (the real S3 emulator, run as it is) and the AWS S3 API reference for what it lacks:
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html and
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html (404 NoSuchUpload)
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import S3rver from 's3rver';

const arg = (name: string, fallback?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || !process.argv[i + 1]) {
    if (fallback !== undefined) return fallback;
    throw new Error(`missing --${name}`);
  }
  return process.argv[i + 1];
};

const server = new S3rver({
  address: arg('address', '127.0.0.1'),
  port: Number(arg('port')),
  directory: arg('dir'),
  silent: true,
  configureBuckets: [{ name: arg('bucket'), configs: [] }],
});

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | undefined>;
  status: number;
  type: string;
  body: unknown;
}

/** Where s3rver keeps the parts of unfinished multipart uploads of a bucket (one directory per upload). */
const uploadsDir = (bucket: string) => path.join(arg('dir'), bucket, '._S3rver_uploads');

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * DigitalOcean Spaces and S3 list and abort unfinished multipart uploads; s3rver answers NotImplemented to
 * both (ListMultipartUploads, AbortMultipartUpload), so the sandbox adds them over s3rver's own upload dirs.
 */
function multipart(ctx: KoaContext): boolean {
  const [bucket, ...key] = ctx.path.split('/').filter(Boolean).map(decodeURIComponent);
  if (!bucket) return false;
  const dir = uploadsDir(bucket);
  if (ctx.method === 'GET' && key.length === 0 && 'uploads' in ctx.query) {
    const prefix = ctx.query.prefix ?? '';
    const uploads = (existsSync(dir) ? readdirSync(dir) : [])
      .map((id) => ({ id, key: readFileSync(path.join(dir, id, 'key'), 'utf8'), at: statSync(path.join(dir, id)) }))
      .filter((u) => u.key.startsWith(prefix));
    const entries = uploads.map(
      (u) =>
        `<Upload><Key>${xml(u.key)}</Key><UploadId>${u.id}</UploadId>` +
        `<Initiated>${u.at.birthtime.getTime() ? u.at.birthtime.toISOString() : u.at.mtime.toISOString()}</Initiated>` +
        '<StorageClass>STANDARD</StorageClass></Upload>',
    );
    ctx.type = 'application/xml';
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult>' +
      `<Bucket>${xml(bucket)}</Bucket><Prefix>${xml(prefix)}</Prefix><IsTruncated>false</IsTruncated>` +
      `${entries.join('')}</ListMultipartUploadsResult>`;
    return true;
  }
  const id = ctx.query.uploadId;
  if (ctx.method === 'DELETE' && key.length > 0 && id) {
    if (!/^[0-9a-f]+$/.test(id) || !existsSync(path.join(dir, id))) {
      ctx.status = 404;
      ctx.type = 'application/xml';
      // source: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (NoSuchUpload, 404)
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code></Error>';
      return true;
    }
    rmSync(path.join(dir, id), { recursive: true, force: true });
    ctx.status = 204;
    return true;
  }
  return false;
}

/** The `store-slow` fault (a flag file beside the data dir): objects are read back at 4 MiB/s, as over a far link. */
const slowFlag = path.join(path.dirname(arg('dir')), 'slow');
const SLOW_BYTES_PER_SECOND = 4 * 1024 * 1024;

function throttled(body: Readable): Transform {
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      setTimeout(() => cb(null, chunk), (chunk.length / SLOW_BYTES_PER_SECOND) * 1000);
    },
  });
  return body.pipe(t);
}

// Before s3rver's own router, which would refuse them.
(server as unknown as { middleware: unknown[] }).middleware.unshift(
  async (ctx: KoaContext, next: () => Promise<void>) => {
    if (multipart(ctx)) return;
    await next();
    if (ctx.method === 'GET' && ctx.body instanceof Readable && existsSync(slowFlag)) ctx.body = throttled(ctx.body);
  },
);
await server.run();
process.stdout.write(`s3rver listening on ${arg('address', '127.0.0.1')}:${arg('port')}\n`);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
