import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoPath, repoRoot, tsFiles } from '../../helpers/sourceFiles.js';

/** `any` as a type: an annotation, an argument, an assertion, an array or a generic. Comments are skipped. */
const ANY = /(:\s*any\b|\bas\s+any\b|<any\b|\bany\s*\[\]|,\s*any\s*>)/;

describe('CLI options are typed', () => {
  it('finds `any` where it is a type', () => {
    for (const t of ['opts: any', 'x as any', 'Map<any, X>', 'Map<X, any>', 'any[] = []']) expect(t).toMatch(ANY);
    for (const t of ['if any flag is given', 'company', 'anyOf']) expect(t).not.toMatch(ANY);
  });

  it('no module of src/cli uses `any`: each command declares the options it reads', () => {
    const found = tsFiles(path.join(repoRoot, 'src', 'cli')).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${repoPath(file)}:${i + 1}` }))
        .filter(({ line }) => !/^\s*(\/\/|\*|\/\*)/.test(line) && ANY.test(line.replace(/\/\/.*$/, '')))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(found).toEqual([]);
  });
});
