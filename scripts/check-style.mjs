#!/usr/bin/env node
// No line over 120 characters. The formatter wraps code at 120 but never breaks a string or a
// template literal, so this check names every line that is still too long, as file:line.
//   node scripts/check-style.mjs [DIR|FILE ...]    (default: src; checks *.ts, *.mts and *.mjs)
// Exits 1 when a line is too long, 0 otherwise.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAX = 120;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const targets = args.length > 0 ? args : ['src'];

function* files(p) {
  if (statSync(p).isDirectory()) {
    for (const e of readdirSync(p, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
      yield* files(path.join(p, e.name));
    }
  } else if (/\.(ts|mts|mjs)$/.test(p)) {
    yield p;
  }
}

let count = 0;
for (const target of targets) {
  for (const file of files(path.resolve(root, target))) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      // Characters as a reader counts them (code points), not UTF-16 units: '×' and '→' are one each.
      const width = [...lines[i].replace(/\r$/, '')].length;
      if (width > MAX) {
        count++;
        console.log(`${path.relative(root, file)}:${i + 1}: ${width} characters (max ${MAX})`);
      }
    }
  }
}
if (count > 0) {
  console.log(`${count} line${count === 1 ? '' : 's'} over ${MAX} characters`);
  process.exit(1);
}
