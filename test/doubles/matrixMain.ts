// The sandbox's Matrix homeserver, run detached by `sandbox up` on loopback (where the operator's coopctl posts).
// Usage: matrixMain.js --dir DIR --port PORT
// source: none needed — process plumbing; what it answers is test/doubles/matrix.ts, which cites the specification
import { createHomeserver } from './matrix.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || !process.argv[i + 1]) throw new Error(`missing --${name}`);
  return process.argv[i + 1];
};

createHomeserver(arg('dir')).listen(Number(arg('port')), '127.0.0.1');
