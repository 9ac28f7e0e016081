import { describe, expect, it } from 'vitest';
import { sizeFlag } from '../../../src/kernel/validate.js';

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
