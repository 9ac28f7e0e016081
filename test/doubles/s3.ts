// The sandbox's object store: s3rver, run detached by `sandbox up` (on loopback, or in its own network namespace).
// Usage: s3.js --dir DIR --port PORT --bucket NAME [--address ADDR]
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
await server.run();
process.stdout.write(`s3rver listening on ${arg('address', '127.0.0.1')}:${arg('port')}\n`);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
