import { describe, expect, it } from 'vitest';
import { durationFlag, sizeFlag } from '../../../src/kernel/validate.js';

describe('sizeFlag (--size)', () => {
  it('reads decimal and binary units, a space allowed, any case', () => {
    expect(sizeFlag('500MB', '--size')).toBe(500_000_000);
    expect(sizeFlag('2GiB', '--size')).toBe(2 * 1024 ** 3);
    expect(sizeFlag('1.5 gb', '--size')).toBe(1_500_000_000);
    expect(sizeFlag('20mib', '--size')).toBe(20 * 1024 ** 2);
    expect(sizeFlag('4096', '--size')).toBe(4096);
  });

  it('refuses what is not a size, naming the flag', () => {
    for (const bad of ['', 'big', '5x', '-1MB', '0', '2 GiBs', '1e9'])
      expect(() => sizeFlag(bad, '--size')).toThrow(/^--size: .* is not a size \(try 500MB or 2GiB\)$/);
  });
});

describe('durationFlag', () => {
  it('reads units, sums and bare seconds', () => {
    expect(durationFlag('1h30m', '--lock-wait')).toBe(90 * 60_000);
    expect(durationFlag('90', '--lock-wait')).toBe(90_000);
    expect(durationFlag('24d', '--lock-wait')).toBe(24 * 86_400_000);
  });

  it('a wait longer than a timer holds (2^31-1 ms) or not finite is bad input naming the flag', () => {
    for (const bad of ['99999999999999h', '25d', '2147484s', `${'9'.repeat(400)}`, `${'9'.repeat(400)}ms`])
      expect(() => durationFlag(bad, '--lock-wait')).toThrow(/^--lock-wait: ".*" is (longer than a timer|not a dur)/);
  });

  it('a span (--soak) may pass a timer, not ten years', () => {
    expect(durationFlag('30d', '--soak', 'span')).toBe(30 * 86_400_000);
    expect(() => durationFlag('99999999999999h', '--soak', 'span')).toThrow(/^--soak: .* is longer than ten years$/);
  });
});
