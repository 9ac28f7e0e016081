import { readdirSync } from 'node:fs';
import path from 'node:path';

/** The checkout's root. */
export const repoRoot = path.resolve(import.meta.dirname, '../..');

/** A path relative to the checkout, with forward slashes. */
export const repoPath = (abs: string) => path.relative(repoRoot, abs).split(path.sep).join('/');

/** Every .ts file below `dir`, sorted. */
export function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .filter((f) => f.endsWith('.ts'))
    .sort();
}
