import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoPath, repoRoot, tsFiles } from '../helpers/sourceFiles.js';

/**
 * Stand-ins are claims about production: each file of one names where its behaviour comes from in a
 * `source:` comment (an upstream file, a documentation page, a recorded real output, or the operators' notes with
 * how sure they are). A file with no production behaviour says so (`source: none needed — ...`).
 */
const root = repoRoot;
const rel = repoPath;

/** The stand-in parts of the test world (the rest of test/world is plumbing: processes, ports, layout). */
const WORLD_STANDINS = [
  'test/world/mastodon/nginx.ts',
  'test/world/mastodon/upstream.ts',
  'test/world/toolsMissing.ts',
  ...tsFiles(path.join(root, 'test/world/coopcloud')).map(rel),
];

const CITATION = /\/\/\s*source:\s*\S|^\s*\*?\s*source:\s*\S/m;

describe('stand-ins cite their sources', () => {
  const files = [...tsFiles(path.join(root, 'test/doubles')).map(rel), ...WORLD_STANDINS];

  it('covers every double', () => {
    expect(files).toContain('test/doubles/abra/commands/backup.ts');
    expect(files).toContain('test/doubles/systemctl.ts');
    expect(files.length).toBeGreaterThan(30);
  });

  it('has a source: comment in each file', () => {
    const uncited = files.filter((f) => !CITATION.test(readFileSync(path.join(root, f), 'utf8')));
    expect(uncited).toEqual([]);
  });
});
