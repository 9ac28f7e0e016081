import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coopctl, json } from '../helpers/cli.js';
import { sshToHost, startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { SandboxMastodon } from '../helpers/upgradeSandbox.js';
import { sandboxLayout } from '../world/layout.js';
import type { SandboxState } from '../world/state.js';

/**
 * alpha is reached as production hosts are: an ordinary login with
 * passwordless sudo (real Debian sudo, a sudoers.d entry), its data dir,
 * coopctl state dir and docker socket root's alone. Everything coopctl does
 * there must go through sudo; a missing right is caught before any change.
 * The sandbox can make such a host only as root with sudo installed.
 */
const capable = process.getuid?.() === 0 && existsSync('/usr/bin/sudo');

let sb: TestSandbox;
let alpha: SandboxMastodon;
let login: string;

beforeAll(async () => {
  if (!capable) return;
  sb = await startSandbox();
  alpha = new SandboxMastodon(sb, 'alpha');
  const state = JSON.parse(readFileSync(path.join(sb.dir, 'sandbox.json'), 'utf8')) as SandboxState;
  login = state.hosts.find((h) => h.name === 'alpha')!.login!;
}, 600_000);

afterAll(async () => {
  await sb?.down();
});

/** A command on alpha as its login user, through its real sshd, as an operator's `ssh` runs it. */
function onAlpha(command: string): { code: number; out: string } {
  const r = sshToHost(sb.dir, 'alpha', command, login);
  return { code: r.code, out: `${r.stdout}${r.stderr}` };
}

const sudoers = () => `/etc/sudoers.d/coopctl-sandbox-${login.replace(/^coopctl-/, '')}`;

describe.skipIf(!capable)('a host reached as an ordinary user with sudo (ansible_become)', () => {
  it('is as production has it: a non-root login, become in the inventory, root-only dirs, docker needing sudo', () => {
    const inv = parse(readFileSync(sandboxLayout(sb.dir).inventory, 'utf8'));
    const vars = inv.all.children.mastodon.hosts.alpha;
    expect(vars.ansible_user).toBe(login);
    expect(vars.ansible_become).toBe(true);
    expect(onAlpha('id -u').out.trim()).not.toBe('0');
    const stateDir = statSync(path.join(alpha.root, 'var', 'lib', 'coopctl'));
    expect([stateDir.uid, stateDir.mode & 0o777]).toEqual([0, 0o700]);
    // the playbook makes the data dir 0750, group root: nothing for the login either
    const dataDir = statSync(path.join(alpha.root, 'opt', 'social.coop'));
    expect([dataDir.uid, dataDir.gid, dataDir.mode & 0o007]).toEqual([0, 0, 0]);
    const compose = `${path.join(alpha.root, 'opt', 'social.coop', 'docker-compose.yml')}`;
    const noSudo = onAlpha(`docker compose -f ${compose} ps`);
    expect(noSudo.code).toBe(1);
    expect(noSudo.out).toContain('permission denied while trying to connect to the Docker daemon socket');
    expect(onAlpha('systemctl restart mastodon').out).toContain('Failed to restart mastodon.service: Access denied');
    expect(onAlpha(`ls ${path.join(alpha.root, 'var', 'lib', 'coopctl')}`).code).not.toBe(0);
    // with sudo, the host's own docker is found (secure_path) and works
    const withSudo = onAlpha(`sudo -n docker compose -f ${compose} ps --services`);
    expect(withSudo.code, withSudo.out).toBe(0);
    expect(withSudo.out).toContain('web');
  });

  it('status and preflight read it through sudo', async () => {
    const status = json<{ services: Array<{ env: string; reachable: boolean; version: string; healthy: boolean }> }>(
      await sb.run(['--json', 'status', 'mastodon', '--env', 'alpha']),
    );
    expect(status.services).toMatchObject([{ env: 'alpha', reachable: true, version: '4.4.7', healthy: true }]);
    const pf = await sb.run(['--json', '-v', 'preflight', 'mastodon', '--env', 'alpha', '--to', '4.4.8']);
    const doc = json<{ ok: boolean; checks: Array<{ id: string; status: string; message: string }> }>(pf);
    expect(doc.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    // the ssh check's `true` goes through the same sudo as every command after it
    expect(doc.checks.find((c) => c.id === 'ssh')?.message).toMatch(
      new RegExp(`^${login}@\\S+ reachable, host key verified; sudo -n to root works$`),
    );
    expect(pf.code).toBe(0);
    // -v shows what the host runs: sudo in front
    expect(pf.stderr).toMatch(/^\$ alpha: sudo -n -u root -- df -Pk /m);
  });

  it('takes and releases a lock in the root-only state dir', async () => {
    const take = await sb.run(['lock', 'acquire', 'mastodon', '--env', 'alpha', '-m', 'maintenance']);
    expect(take.code, take.stderr).toBe(0);
    expect(statSync(alpha.lockDir).uid).toBe(0);
    expect(alpha.lockInfo()).toMatchObject({ message: 'maintenance' });
    const held = json<{ held: boolean }>(await sb.run(['--json', 'lock', 'status', 'mastodon', '--env', 'alpha']));
    expect(held.held).toBe(true);
    // status reads it too (today's main reads "not locked": the login cannot see into the state dir)
    const status = json<{ services: Array<{ lock: { held: boolean } | null }> }>(
      await sb.run(['--json', 'status', 'mastodon', '--env', 'alpha']),
    );
    expect(status.services[0].lock?.held).toBe(true);
    const dry = await sb.run(['--dry-run', '-v', 'lock', 'acquire', 'mastodon', '--env', 'alpha', '-m', 'x']);
    expect(dry.stderr).toContain('! skipped (dry run) on alpha: sudo -n -u root -- sh -c ');
    const release = await sb.run(['lock', 'release', 'mastodon', '--env', 'alpha']);
    expect(release.code, release.stderr).toBe(0);
    expect(existsSync(alpha.lockDir)).toBe(false);
  });

  it('upgrades with a safety backup and a history record, the playbook becoming root too', async () => {
    const r = await sb.run(['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--yes', '--no-check']);
    const doc = json<{ ok: boolean; record: { id: string; status: string; backupId: string | null } }>(r);
    expect(doc.ok, r.stderr).toBe(true);
    expect(r.code).toBe(0);
    expect(await alpha.running()).toEqual({ version: '4.4.8', healthy: true });
    const rec = alpha.record(doc.record.id);
    expect(rec).toMatchObject({ status: 'succeeded', from: '4.4.7', to: '4.4.8' });
    expect(rec.backupId).toBeTruthy();
    expect(alpha.backups()).toContain(rec.backupId);
    expect(statSync(path.join(alpha.stateDir, 'history')).uid).toBe(0);
  });

  it('creates a backup there (pg_dump streamed through sudo) and verifies it on the same host', async () => {
    const created = await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'alpha']);
    expect(created.code, created.stderr).toBe(0);
    const m = json<{ id: string; host: string }>(created);
    const verify = await sb.run(['--json', 'backup', 'verify', m.id]);
    expect(verify.code, verify.stdout).toBe(0);
    // pg_restore --list ran on the restore-test host, alpha: through sudo as well
    expect(json<{ verifiedHow: string }>(verify).verifiedHow).toBe('structure-checked');
  });

  it('without the sudo right: preflight fails with the sudoers line to add, and an upgrade changes nothing', async () => {
    const before = alpha.footprint();
    const records = alpha.records().length;
    renameSync(sudoers(), `${sudoers()}.off`); // sudo skips names with a dot: the right is gone
    try {
      const pf = await sb.run(['--json', 'preflight', 'mastodon', '--env', 'alpha', '--to', '4.5.0']);
      expect(pf.code).toBe(3);
      const checks = json<{ checks: Array<{ id: string; status: string; message: string; fix?: string }> }>(pf).checks;
      const sudo = checks.find((c) => c.id === 'ssh')!;
      // what would need the host is not run
      expect(checks.find((c) => c.id === 'lock')).toMatchObject({ status: 'fail', message: 'not run: ssh failed' });
      expect(sudo).toMatchObject({
        status: 'fail',
        message: `alpha: ${login} may not run commands as root with sudo without a password (sudo: a password is required)`,
      });
      expect(sudo.fix).toContain(`'${login} ALL=(root) NOPASSWD: ALL' > /etc/sudoers.d/coopctl`);

      const up = await sb.run(['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.0', '--yes']);
      expect(up.code, up.stderr).toBe(3);
      expect(up.stderr).toContain(`${login} may not run commands as root with sudo without a password`);
      expect(up.stderr).toContain(`${login} ALL=(root) NOPASSWD: ALL`);
      expect(alpha.footprint()).toEqual(before);
      expect(alpha.records()).toHaveLength(records);
      expect(alpha.lockInfo()).toBeUndefined();
      expect(await alpha.running()).toEqual({ version: '4.4.8', healthy: true });
    } finally {
      renameSync(`${sudoers()}.off`, sudoers());
    }
  });

  it('refuses a become method other than sudo as an inventory error, exit 2, before anything runs', async () => {
    const file = sandboxLayout(sb.dir).inventory;
    const text = readFileSync(file, 'utf8');
    const inv = parse(text);
    inv.all.children.mastodon.hosts.alpha.ansible_become_method = 'su';
    writeFileSync(file, stringify(inv));
    try {
      const r = await sb.run(['-v', 'preflight', 'mastodon', '--env', 'alpha']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('host alpha: ansible_become_method "su" is not supported');
      expect(r.stderr).not.toContain('$ alpha:');
    } finally {
      writeFileSync(file, text);
    }
  });

  it('sandbox down removes the login and its sudoers entry', async () => {
    expect(existsSync(sudoers())).toBe(true);
    const r = await coopctl(['sandbox', 'down', '--dir', sb.dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(sudoers())).toBe(false);
    expect(spawnSync('id', [login]).status).not.toBe(0);
  });
});
