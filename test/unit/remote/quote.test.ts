import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quoteArgv, ShellLine } from '../../../src/remote/quote.js';

const nasty = ["it's", '$(touch /tmp/pwned)', '`id`', 'a b', '"q"', '; rm -rf /', '', '\\', 'ünï', '*', '\n'];

describe('argv quoting for the remote shell', () => {
  it('round-trips every argument through a real sh unchanged', () => {
    const script = quoteArgv(['printf', '%s\\0', ...nasty]);
    const out = execFileSync('sh', ['-c', script]).toString();
    expect(out.split('\0').slice(0, -1)).toEqual(nasty);
  });

  it('builds pipelines that fail when any stage fails', () => {
    expect(() => execFileSync('bash', ['-c', ShellLine.pipeline(['false'], ['cat']).text])).toThrow();
    expect(execFileSync('bash', ['-c', ShellLine.pipeline(['echo', 'a;b'], ['tr', ';', '-']).text]).toString()).toBe(
      'a-b\n',
    );
  });
});
