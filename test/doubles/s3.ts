// The sandbox's object store: s3rver on loopback, run detached by `sandbox up`.
// Usage: s3.js --dir DIR --port PORT --bucket NAME
import S3rver from 's3rver';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || !process.argv[i + 1]) throw new Error(`missing --${name}`);
  return process.argv[i + 1];
};

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(arg('port')),
  directory: arg('dir'),
  silent: true,
  configureBuckets: [{ name: arg('bucket'), configs: [] }],
});
await server.run();
process.stdout.write(`s3rver listening on 127.0.0.1:${arg('port')}\n`);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
