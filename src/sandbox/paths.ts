import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The coopctl checkout this module belongs to (works from src/ under vitest and from dist/). */
export function repoRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'coopctl') return dir;
    if (path.dirname(dir) === dir) throw new Error('cannot find the coopctl package root');
  }
}

/** A built program under dist/ (the sandbox runs compiled JavaScript, never TypeScript). */
export function distScript(relative: string): string {
  const file = path.join(repoRoot(), 'dist', relative);
  if (!existsSync(file)) throw new Error(`${file} is missing: build coopctl first (npm run build)`);
  return file;
}
