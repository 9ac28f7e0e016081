import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { reportError } from '../../../src/cli/errors.js';
import { RefusedError } from '../../../src/kernel/errors.js';
import { type IO, Printer } from '../../../src/kernel/io.js';
import { printable } from '../../../src/kernel/validate.js';

/** A reason or note as an operator could have typed it: escape sequences, a CR, a right-to-left override. */
const HOSTILE = 'bad\x1b[2J\x1b]0;pwned\x07 build\r\u202edone\u2066 \x9b31m';
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

function captured(): { io: IO; out: () => string; err: () => string } {
  const chunks = { out: '', err: '' };
  const stream = (k: 'out' | 'err') => {
    const s = new PassThrough();
    s.on('data', (b: Buffer) => {
      chunks[k] += b.toString();
    });
    return s;
  };
  const io = { stdin: new PassThrough(), stdout: stream('out'), stderr: stream('err'), env: { NO_COLOR: '1' } };
  return { io, out: () => chunks.out, err: () => chunks.err };
}

describe('text from other operators, shown on a terminal', () => {
  it('control characters, escape sequences and bidi overrides become visible', () => {
    const shown = printable(HOSTILE);
    expect(shown).not.toMatch(RAW);
    expect(shown).toBe('bad\\x1b[2J\\x1b]0;pwned\\x07 build\\x0d\\u{202e}done\\u{2066} \\x9b31m');
    expect(printable('line one\n\tline two\r', { lines: true })).toBe('line one\n\tline two\\x0d');
    expect(printable('a\nb')).toBe('a\\x0ab');
  });

  it('an error (a refusal naming a rejection reason) and a warning keep their lines, never the controls', () => {
    const c = captured();
    reportError(new RefusedError(`mastodon 4.4.8 is rejected by Ana: ${HOSTILE}\nsecond line`), c.io, false);
    new Printer(c.io).warn(`rejections unread: ${HOSTILE}`);
    expect(c.err()).not.toMatch(RAW);
    expect(c.err()).toContain('is rejected by Ana: bad\\x1b[2J');
    expect(c.err()).toContain('\nsecond line');
    expect(c.err()).toContain('warning: rejections unread: bad\\x1b[2J');
  });

  it('--json keeps the exact text, as JSON escapes it', () => {
    const c = captured();
    reportError(new RefusedError(HOSTILE), c.io, true);
    expect((JSON.parse(c.out()) as { error: { message: string } }).error.message).toBe(HOSTILE);
  });
});
