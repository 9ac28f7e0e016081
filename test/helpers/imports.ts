import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoPath, tsFiles } from './sourceFiles.js';

/**
 * The relative specifiers a module imports: `import ... from`, `import type ... from`, `export ... from`,
 * `import 'x'`, `import('x')` (also `import('x').T` in a type). Statements may span lines; commented-out
 * lines are skipped.
 */
export function relativeImports(text: string): string[] {
  const code = text
    .split('\n')
    .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l))
    .join('\n');
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1]);
  return found.filter((s) => s.startsWith('.'));
}

export interface ImportEdge {
  file: string; // importing module, relative to the repository
  spec: string; // as written
  target: string; // resolved, relative to the repository
}

/** Every relative import of the .ts modules below `dir`, once per importing module and specifier. */
export function importEdges(dir: string): ImportEdge[] {
  return tsFiles(dir).flatMap((file) =>
    [...new Set(relativeImports(readFileSync(file, 'utf8')))].map((spec) => ({
      file: repoPath(file),
      spec,
      target: repoPath(path.resolve(path.dirname(file), spec)),
    })),
  );
}
