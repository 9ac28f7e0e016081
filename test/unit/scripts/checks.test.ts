import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../../..');
const dirs: string[] = [];

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-checks-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

async function check(script: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [path.join(repo, 'scripts', script), ...args]);
    return { code: 0, out: r.stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, out: e.stdout };
  }
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('scripts/check-exports.mjs', () => {
  it('names, as file:line, the exports nobody imports, following barrels and dynamic imports', async () => {
    const dir = tree({
      'src/kernel/a.ts': [
        'export function used() {}',
        'export function unused() {}',
        'export interface Shape { a: number }',
        'export function shaped(s: Shape) { return s; }',
        'export const viaBarrel = 1;',
        'export const barrelOnly = 2;',
        'export const dyn = 3;',
        'export const dynOther = 4;',
        'export const member = 5;',
        'export type ViaImportType = string;',
        '',
      ].join('\n'),
      'src/kernel/index.ts': "export { viaBarrel, barrelOnly } from './a.js';\n",
      'src/cli/entry.ts': "import { used } from '../kernel/a.js';\nexport const fromEntry = used;\n",
      'src/cli/main.ts': [
        "const load = () => import('./commands/status.js');",
        "const { dyn } = await import('../kernel/a.js');",
        "const m = (await import('../kernel/a.js')).member;",
        "type T = import('../kernel/a.js').ViaImportType;",
        'export { load, dyn, m };',
        'export type { T };',
        '',
      ].join('\n'),
      'src/cli/commands/status.ts': 'export async function run() {}\nexport const helper = 1;\n',
      'test/unit/x.test.ts':
        "import { viaBarrel } from '../../src/kernel/index.js';\nimport { load } from '../../src/cli/main.js';\n",
    });
    const r = await check('check-exports.mjs', ['--root', dir]);
    expect(r.code).toBe(1);
    const lines = r.out.trim().split('\n');
    expect(lines.slice(0, -1)).toEqual([
      'src/cli/commands/status.ts:2: helper (const) is exported but never imported; unused',
      'src/cli/main.ts:5: dyn (export) is exported but never imported; used in its file: drop `export`',
      'src/cli/main.ts:5: m (export) is exported but never imported; used in its file: drop `export`',
      'src/cli/main.ts:6: T (export) is exported but never imported; used in its file: drop `export`',
      'src/kernel/a.ts:2: unused (function) is exported but never imported; unused',
      'src/kernel/a.ts:3: Shape (interface) is exported but never imported; used in its file: drop `export`',
      'src/kernel/a.ts:4: shaped (function) is exported but never imported; unused',
      'src/kernel/a.ts:6: barrelOnly (const) is exported but never imported; unused',
      'src/kernel/a.ts:8: dynOther (const) is exported but never imported; unused',
      'src/kernel/index.ts:1: barrelOnly (re-export) is exported but never imported; drop the re-export',
    ]);
    expect(lines.at(-1)).toMatch(/^10 unused exports in src\//);
  });

  it('passes a tree whose every export is imported', async () => {
    const dir = tree({
      'src/kernel/a.ts': 'export const a = 1;\n',
      'src/cli/entry.ts': "import { a } from '../kernel/a.js';\nconsole.log(a);\n",
    });
    expect(await check('check-exports.mjs', ['--root', dir])).toEqual({ code: 0, out: '' });
  });
});

describe('scripts/check-style.mjs', () => {
  it('names every line over 120 characters, counting characters rather than UTF-16 units', async () => {
    const dir = tree({
      'src/a.ts': `const ok = '${'×'.repeat(100)}';\nconst long = '${'x'.repeat(120)}';\n`,
      'src/b.md': 'x'.repeat(200),
    });
    const r = await check('check-style.mjs', [path.join(dir, 'src')]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('a.ts:2: 136 characters (max 120)');
    expect(r.out).not.toContain('a.ts:1');
    expect(r.out).not.toContain('b.md');
  });
});
