#!/usr/bin/env node
// The build's last step: the host programs (src/**/*.sh, read at run time by src/backup/hostProgram.ts) copied
// beside the compiled modules, into dist/ and, when the test world was built, build/world/src/.
import { cpSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outputs = ['dist', 'build/world/src'].filter((d) => existsSync(path.join(root, d)));
for (const entry of readdirSync(path.join(root, 'src'), { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.sh')) continue;
  const rel = path.relative(path.join(root, 'src'), path.join(entry.parentPath, entry.name));
  for (const out of outputs) cpSync(path.join(root, 'src', rel), path.join(root, out, rel));
}
