// Runs every benchmark in bench/ (or those named on the command line) in turn.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const dir = import.meta.dirname;
const wanted = process.argv.slice(2);
const all = readdirSync(dir).filter((f) => /\.(mjs|ts)$/.test(f) && !['run.mjs', 'lib.mjs', 'sandbox.mjs'].includes(f));
for (const f of all.filter((f) => !wanted.length || wanted.some((w) => f.startsWith(w)))) {
  const args = f.endsWith('.ts') ? ['--import', 'tsx', path.join(dir, f)] : [path.join(dir, f)];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) console.log(`${f}: exited ${r.status}`);
}
