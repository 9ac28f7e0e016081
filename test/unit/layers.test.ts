import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ImportEdge, importEdges, relativeImports } from '../helpers/imports.js';
import { repoPath, repoRoot, tsFiles } from '../helpers/sourceFiles.js';

/**
 * The folders of src/, bottom to top. A module may import from its own folder and the folders below
 * it, never from one above. `import type` counts: a type is a dependency too.
 */
const LAYERS = [
  'kernel',
  'config',
  'remote',
  'notify',
  'versions',
  'history',
  'backup',
  'targets',
  'checks',
  'drivers',
  'services',
  'workspace',
  'monitoring',
  'pipeline',
  'operations',
  'cli',
] as const;

const root = repoRoot;
const src = path.join(root, 'src');
const rel = repoPath;

const edges = importEdges(src);

/** src/<folder>/... → folder; undefined outside src/. */
const folderOf = (p: string) => (p.startsWith('src/') ? p.split('/')[1] : undefined);
const layerOf = (p: string) => LAYERS.indexOf(folderOf(p) as (typeof LAYERS)[number]);
const show = (e: ImportEdge) => `${e.file} → ${e.spec}`;

function report(violations: string[]): string {
  return `${violations.length} violation${violations.length === 1 ? '' : 's'}:\n  ${violations.join('\n  ')}\n`;
}

describe('layers of src/', () => {
  it('finds the imports it checks (import type, export from, import(), multi-line)', () => {
    const sample = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      'import {',
      '  c,',
      '  type D,',
      "} from './c.js';",
      "export { e } from './e.js';",
      "export * from './f.js';",
      "import './g.js';",
      "const h = await import('./h.js');",
      "type I = import('./i.js').I;",
      "import { readFileSync } from 'node:fs';",
      "// import { old } from './old.js';",
    ].join('\n');
    expect(relativeImports(sample).sort()).toEqual(
      ['./a.js', '../b.js', './c.js', './e.js', './f.js', './g.js', './h.js', './i.js'].sort(),
    );
    expect(edges.length).toBeGreaterThan(100);
  });

  it('every module sits in a layer, and imports only from its own layer and the ones below', () => {
    const violations: string[] = [];
    // A folder outside the order is named once, with its number of modules. *.d.ts files (src/types) only
    // declare ambient modules: they import nothing and nothing imports them.
    const outside = new Map<string, number>();
    for (const file of tsFiles(src).map(rel)) {
      if (layerOf(file) < 0 && !file.endsWith('.d.ts'))
        outside.set(folderOf(file) ?? '', (outside.get(folderOf(file) ?? '') ?? 0) + 1);
    }
    for (const [folder, n] of outside)
      violations.push(`src/${folder}/ (${n} modules) is not a layer: ${LAYERS.join(' < ')}`);
    for (const e of edges) {
      const from = layerOf(e.file);
      if (from < 0 || folderOf(e.target) === undefined) continue; // reported above / the test/ rule below
      const to = layerOf(e.target);
      if (to < 0) violations.push(`${show(e)} (src/${folderOf(e.target)} is not a layer)`);
      else if (to > from)
        violations.push(`${show(e)} (${LAYERS[from]} may not import ${LAYERS[to]}, a layer above it)`);
    }
    expect(violations.length, report(violations)).toBe(0);
  });

  it('no command module imports another, except common.ts of its own command folder', () => {
    const commands = 'src/cli/commands/';
    const ownCommon = (e: ImportEdge) =>
      /\/common\.[jt]s$/.test(e.target) && path.posix.dirname(e.target) === path.posix.dirname(e.file);
    const violations = edges
      .filter((e) => e.file.startsWith(commands) && e.target.startsWith(commands) && !ownCommon(e))
      .map(show);
    expect(violations.length, report(violations)).toBe(0);
  });

  it('nothing in src/ imports from test/', () => {
    const violations = edges.filter((e) => e.target.startsWith('test/')).map(show);
    expect(violations.length, report(violations)).toBe(0);
  });
});
