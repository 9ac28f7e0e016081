import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Memo } from '../../../src/kernel/memo.js';
import { repoPath, repoRoot, tsFiles } from '../../helpers/sourceFiles.js';

describe('Memo', () => {
  it('makes a value once per key; callers at the same time share one promise', async () => {
    const memo = new Memo();
    let reads = 0;
    const read = () => new Promise<number>((resolve) => setTimeout(() => resolve(++reads), 5));
    const [a, b] = await Promise.all([memo.once('k', read), memo.once('k', read)]);
    expect([a, b, reads]).toEqual([1, 1, 1]);
    expect(await memo.once('other', read)).toBe(2);
  });

  it('keeps a failure with once, forgets it with retrying', async () => {
    const memo = new Memo();
    let calls = 0;
    const flaky = () => (++calls === 1 ? Promise.reject(new Error('unreachable')) : Promise.resolve('up'));
    await expect(memo.once('a', flaky)).rejects.toThrow('unreachable');
    await expect(memo.once('a', flaky)).rejects.toThrow('unreachable');
    calls = 0;
    await expect(memo.retrying('b', flaky)).rejects.toThrow('unreachable');
    expect(await memo.retrying('b', flaky)).toBe('up');
    expect(await memo.retrying('b', flaky)).toBe('up');
    expect(calls).toBe(2);
  });

  it('is the one memoizing style of src/: no module keeps its own map of promises', () => {
    // Not a memo: the checks of one run in flight, each awaited by the checks that need it.
    const inFlight = ['src/checks/engine.ts'];
    const own = tsFiles(path.join(repoRoot, 'src'))
      .filter((f) => /Map<[^>]*,\s*Promise</.test(readFileSync(f, 'utf8')))
      .map(repoPath)
      .filter((f) => !inFlight.includes(f));
    expect(own).toEqual([]);
  });
});
