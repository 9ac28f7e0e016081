import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Every file below `dir`, by its path relative to `dir`, with its sha256. */
export function fileHashes(dir: string, base = dir, into = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) fileHashes(p, base, into);
    else into.set(path.relative(base, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
  }
  return into;
}
