import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, json } from '../helpers/cli.js';

/**
 * The sandbox must work for an ordinary user too (no runuser, no /run/sshd,
 * sshd accepting key logins for its own user). When the suite runs as root,
 * this runs the CLI as a dedicated unprivileged account; otherwise the rest
 * of the suite already is that case.
 */
const USER = 'coopctl-sbx';
const root = process.getuid?.() === 0;
let dir: string | undefined;

/** The sandbox's pass store, as the user's shell would export it (sandbox up prints the line). */
const passEnv = (sb: string) => [`GNUPGHOME=${sb}/secrets/gnupg`, `PASSWORD_STORE_DIR=${sb}/secrets/password-store`];

function asUser(args: string[], env: string[] = []) {
  const r = spawnSync(
    'runuser',
    ['-u', USER, '--', 'env', `HOME=/home/${USER}`, 'CI=1', 'NO_COLOR=1', ...env, process.execPath, BIN, ...args],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    },
  );
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

afterAll(() => {
  if (dir) {
    asUser(['sandbox', 'down', '--dir', path.join(dir, 'sb')]);
    rmSync(dir, { recursive: true, force: true });
  }
});

describe.skipIf(!root)('sandbox as an ordinary user', () => {
  it('builds, answers status and preflight, and stops cleanly', async () => {
    try {
      execFileSync('id', [USER], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['-m', '-s', '/bin/bash', USER]);
    }
    // sshd refuses locked accounts even for key logins: '*' is "no password", not locked.
    execFileSync('usermod', ['-p', '*', USER]);
    dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-nonroot-'));
    chownSync(
      dir,
      Number(execFileSync('id', ['-u', USER]).toString()),
      Number(execFileSync('id', ['-g', USER]).toString()),
    );
    const sb = path.join(dir, 'sb');
    const up = asUser(['sandbox', 'up', '--dir', sb]);
    expect(up.code, up.stderr).toBe(0);
    // no namespaces without root: the links cannot be shaped, and it says so (issue 9)
    expect(up.stdout).toContain('links are not shaped');
    // no login with sudo for alpha without root: said, and alpha is reached as this user like the others
    expect(up.stderr).toContain(`alpha is reached as ${USER}, like the other hosts: the sandbox runs unprivileged`);
    const status = json<{ services: Array<{ service: string; env: string; version: string; healthy: boolean }> }>(
      asUser(['-c', path.join(sb, 'coopctl.yaml'), '--json', 'status', 'mastodon']),
    );
    expect(status.services.map((s) => [s.env, s.version, s.healthy])).toEqual([
      ['alpha', '4.4.7', true],
      ['prod', '4.4.7', true],
    ]);
    const pf = asUser(
      ['-c', path.join(sb, 'coopctl.yaml'), 'preflight', 'mastodon', '--env', 'alpha', '--to', '4.4.8'],
      passEnv(sb),
    );
    expect(pf.code, pf.stdout).toBe(0);
    expect(asUser(['sandbox', 'down', '--dir', sb]).code).toBe(0);
    const left = execFileSync('ps', ['-e', '-o', 'args='], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(sb));
    expect(left).toEqual([]);
  });
});
