import { describe, expect, it } from 'vitest';
import { mariadbRowCountsSql, mariadbSwapCommand } from '../../../src/backup/mariadb.js';
import {
  scratchImage,
  scratchReadyArgv,
  scratchRemoveArgv,
  scratchServerArgv,
} from '../../../src/backup/mariadbScratch.js';
import { InputError } from '../../../src/kernel/errors.js';

describe('MariaDB command builders', () => {
  it("a restore test's throw-away server runs the backup's major.minor, without a network, removed with its volume", () => {
    expect(scratchImage('10.11.19-MariaDB-0+deb12u1')).toBe('mariadb:10.11');
    expect(scratchImage('11.4.2-MariaDB-ubu2404')).toBe('mariadb:11.4');
    expect(() => scratchImage('15.4 (Debian 15.4-1)')).toThrow(InputError);
    const run = scratchServerArgv('coopctl-restore-test-0a1b2c3d', 'mariadb:10.11');
    expect(run.slice(0, 4)).toEqual(['docker', 'run', '-d', '--rm']);
    expect(run.join(' ')).toContain('--network none');
    expect(run.at(-1)).toBe('mariadb:10.11');
    expect(scratchReadyArgv('c')).toEqual([
      'docker',
      'exec',
      'c',
      'healthcheck.sh',
      '--connect',
      '--innodb_initialized',
    ]);
    expect(scratchRemoveArgv('c')).toEqual(['docker', 'rm', '-f', '-v', 'c']);
  });

  it('names are checked before they reach SQL or a host program', () => {
    expect(() => mariadbRowCountsSql(['page; DROP TABLE user'])).toThrow(/not a MariaDB name/);
    expect(() =>
      mariadbSwapCommand({ name: 'wiki', user: 'root' }, { live: 'wiki', restored: 'x`y', previous: 'p' }),
    ).toThrow(/restored database: "x`y" is not a MariaDB name/);
    expect(mariadbRowCountsSql(['REALM'])).toContain("SELECT 'rows:REALM', count(*) FROM `REALM`;");
  });
});
