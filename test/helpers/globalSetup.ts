import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * End-to-end tests run the built CLI (bin/coopctl → dist/), so build it once
 * first. Type errors are reported by the separate type-check step of CI; tsc
 * still emits, so they do not stop the suite here.
 */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '../..');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) process.stderr.write(`tsc reported problems (the build still emitted):\n${r.stdout.slice(0, 4000)}\n`);
}
