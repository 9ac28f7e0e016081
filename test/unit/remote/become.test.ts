import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sudoRefusal, withBecome } from '../../../src/remote/become.js';
import { ShellLine, toShell } from '../../../src/remote/quote.js';

const nasty = ["it's", '$(touch /tmp/pwned)', '`id`', 'a b', '"q"', '; rm -rf /', '', '\\', 'ünï', '*', '\n'];
const root = { user: 'root', method: 'sudo' } as const;
/** Real sudo runs here when the tests run as root (the sandbox's machine): nothing stands in for it. */
const realSudo = process.getuid?.() === 0 && existsSync('/usr/bin/sudo');

describe('commands on a host with become (sudo)', () => {
  it('puts sudo -n -u USER -- in front of an argument array, which stays an argument array', () => {
    expect(withBecome(['cat', '/var/lib/coopctl/x'], root)).toEqual([
      'sudo',
      '-n',
      '-u',
      'root',
      '--',
      'cat',
      '/var/lib/coopctl/x',
    ]);
    expect(toShell(withBecome(['ls', 'a b'], { user: 'postgres', method: 'sudo' }))).toBe(
      "sudo -n -u postgres -- ls 'a b'",
    );
    // no become: the command as it was
    const argv = ['true'];
    expect(withBecome(argv, undefined)).toBe(argv);
  });

  it('runs a whole shell line under bash -c, so its pipes and redirections have the same rights', () => {
    const line = ShellLine.redirect(['echo', "it's"], '/var/lib/coopctl/a b');
    expect(toShell(withBecome(line, root))).toBe(`sudo -n -u root -- bash -c ${quoteOnce(line.text)}`);
    const pipe = ShellLine.pipeline(['pg_dump', '-Fc'], ['zstd']);
    expect(withBecome(pipe, root)).toEqual(['sudo', '-n', '-u', 'root', '--', 'bash', '-c', pipe.text]);
  });

  it.skipIf(!realSudo)('hands hostile arguments through a real sh and sudo unchanged', () => {
    const argv = toShell(withBecome(['printf', '%s\\0', ...nasty], root));
    expect(execFileSync('sh', ['-c', argv]).toString().split('\0').slice(0, -1)).toEqual(nasty);
    const line = toShell(withBecome(ShellLine.pipeline(['printf', '%s\\0', ...nasty], ['cat']), root));
    expect(execFileSync('sh', ['-c', line]).toString().split('\0').slice(0, -1)).toEqual(nasty);
    expect(execFileSync('sh', ['-c', toShell(withBecome(['id', '-u'], root))]).toString()).toBe('0\n');
  });

  it("tells sudo's refusals from the command's own failures, naming host, user and the sudoers line", () => {
    const e = sudoRefusal({ exitCode: 1, stderr: 'sudo: a password is required\n' }, 'alpha', 'ops', root)!;
    expect(e.message).toBe(
      'alpha: ops may not run commands as root with sudo without a password (sudo: a password is required)',
    );
    expect(e.hints[0]).toContain("echo 'ops ALL=(root) NOPASSWD: ALL' > /etc/sudoers.d/coopctl");
    const notAllowed = "Sorry, user ops is not allowed to execute '/usr/bin/true' as root on alpha.\n";
    expect(sudoRefusal({ exitCode: 1, stderr: notAllowed }, 'alpha', 'ops', root)?.message).toMatch(/not allowed/);
    const requiretty = 'sudo: sorry, you must have a tty to run sudo\n';
    expect(sudoRefusal({ exitCode: 1, stderr: requiretty }, 'alpha', 'ops', root)?.exitCode).toBe(3);
    expect(
      sudoRefusal({ exitCode: 127, stderr: 'bash: line 1: sudo: command not found\n' }, 'a', 'ops', root)?.message,
    ).toBe('a: sudo is not installed, and the inventory says to become root with it');
    // the command's own failures stay the command's
    expect(sudoRefusal({ exitCode: 1, stderr: 'cat: /x: No such file or directory\n' }, 'a', 'ops', root)).toBe(
      undefined,
    );
    expect(sudoRefusal({ exitCode: 2, stderr: 'sudo: a password is required\n' }, 'a', 'ops', root)).toBe(undefined);
  });
});

function quoteOnce(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
