import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The coopctl checkout this module belongs to (works from test/ under vitest and from build/world/). */
export function repoRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'coopctl') return dir;
    if (path.dirname(dir) === dir) throw new Error('cannot find the coopctl package root');
  }
}

/** Where `npm run build` compiles the test world (tsconfig.world.json). */
export const WORLD_BUILD = path.join('build', 'world');

/**
 * A stand-in program as the sandbox hosts run it: compiled JavaScript under
 * build/world/test/ (`doubles/abra.js`), never TypeScript.
 */
export function worldScript(relative: string): string {
  const file = path.join(repoRoot(), WORLD_BUILD, 'test', relative);
  if (!existsSync(file)) throw new Error(`${file} is missing: build the test world first (npm run build)`);
  return file;
}

/** A fixture file or directory under test/fixtures/ (real files, read when the world is built). */
export function fixturePath(...relative: string[]): string {
  return path.join(repoRoot(), 'test', 'fixtures', ...relative);
}
