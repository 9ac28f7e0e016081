import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRunning, readPid } from '../world/processes.js';
import { json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';

interface StatusDoc {
  services: Array<{
    service: string;
    env: string;
    driver: string;
    host: string;
    reachable: boolean;
    version: string | null;
    latest: string | null;
    healthy: boolean | null;
    lock: { held: boolean } | null;
    lastBackup: unknown;
    drift: string | null;
    securityReleases: string[];
    errors: string[];
  }>;
}
interface PreflightDoc {
  ok: boolean;
  checks: Array<{ id: string; status: string; message: string; fix: string | null }>;
}

let sb: TestSandbox;

beforeAll(async () => {
  // the build itself is this file's subject: its own, not a copy of the run's template
  sb = await startSandbox({ fresh: true });
});

afterAll(async () => {
  await sb?.down();
});

const check = (doc: PreflightDoc, id: string) => doc.checks.find((c) => c.id === id)!;

describe('the sandbox world', () => {
  it('writes a config that validates, and an inventory Ansible reads', () => {
    expect(readFileSync(sb.config, 'utf8')).toContain('driver: ansible');
    expect(existsSync(path.join(sb.dir, 'inventories', 'sandbox.yml'))).toBe(true);
    expect(
      readFileSync(path.join(sb.dir, 'ssh', 'known_hosts'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(3);
  });

  it('status: every service × env read live, both Mastodon hosts at 4.4.7 deployed by the playbook', async () => {
    const r = await sb.run(['--json', 'status']);
    expect(r.code).toBe(0);
    const doc = json<StatusDoc>(r);
    expect(doc.services.map((s) => `${s.service}/${s.env}`).sort()).toEqual([
      'auth/prod',
      'bonfire/prod',
      'mastodon/alpha',
      'mastodon/prod',
      'wiki/alpha',
      'wiki/prod',
    ]);
    const alpha = doc.services.find((s) => s.service === 'mastodon' && s.env === 'alpha')!;
    expect(alpha).toMatchObject({
      driver: 'ansible',
      host: 'alpha',
      reachable: true,
      version: '4.4.7',
      latest: '4.6.0',
      healthy: true,
      lock: { held: false },
      lastBackup: null,
      drift: null,
    });
    expect(alpha.securityReleases).toEqual(['4.5.1', '4.4.8']);
    const bonfire = doc.services.find((s) => s.service === 'bonfire')!;
    expect(bonfire).toMatchObject({
      driver: 'abra',
      host: 'hypha',
      version: '1.0.0+1.0.5-social-amd64',
      latest: '2.0.1+1.0.6-social-amd64',
      healthy: true,
    });
  });

  it('versions: current marked, pre-releases hidden unless asked, security flagged', async () => {
    const doc = json<{
      current: string;
      versions: Array<{ version: string; prerelease: boolean; security: boolean; current: boolean }>;
    }>(await sb.run(['--json', 'versions', 'mastodon', '--env', 'alpha']));
    expect(doc.current).toBe('4.4.7');
    expect(doc.versions.map((v) => v.version)).toEqual(['4.6.0', '4.5.1', '4.5.0', '4.4.8', '4.4.7', '4.3.8']);
    expect(doc.versions.find((v) => v.version === '4.4.8')!.security).toBe(true);
    expect(doc.versions.find((v) => v.version === '4.4.7')!.current).toBe(true);
    const pre = json<{ versions: Array<{ version: string; prerelease: boolean }> }>(
      await sb.run(['--json', 'versions', 'mastodon', '--pre']),
    );
    expect(pre.versions.find((v) => v.version === '4.5.0-rc.1')).toMatchObject({ prerelease: true });
    const notes = await sb.run(['versions', 'mastodon', '--env', 'alpha', '--notes']);
    expect(notes.stdout).toContain('## 4.4.8');
    const bonfire = json<{ current: string; versions: Array<{ version: string }> }>(
      await sb.run(['--json', 'versions', 'bonfire', '--env', 'prod']),
    );
    expect(bonfire.current).toBe('1.0.0+1.0.5-social-amd64');
    expect(bonfire.versions[0].version).toBe('2.0.1+1.0.6-social-amd64');
  });

  it('preflight passes for a patch upgrade and refuses a skipped minor series, a pre-release and a downgrade', async () => {
    const ok = await sb.run(['--json', 'preflight', 'mastodon', '--env', 'alpha', '--to', '4.4.8']);
    expect(ok.code).toBe(0);
    const okDoc = json<PreflightDoc>(ok);
    expect(okDoc.ok).toBe(true);
    expect(okDoc.checks.map((c) => c.id)).toEqual([
      'ssh',
      'lock',
      'disk',
      'backup-host',
      'raid',
      'reboot',
      'secrets',
      'matrix',
      'ansible',
      'ansible-collections',
      'playbook-syntax',
      'target-version',
      'patches',
      'verification-requests',
    ]);
    expect(check(okDoc, 'ssh').message).toContain('host key verified');
    // alpha carries the repo's post-length patch (the sandbox's config, as the repo's)
    expect(check(okDoc, 'patches')).toMatchObject({ status: 'pass', message: expect.stringContaining('4.4.8') });
    expect(check(okDoc, 'disk').message).toMatch(/database [\d.]+ MiB/);
    expect(check(okDoc, 'target-version').message).toContain('PostgreSQL 15');

    const skip = await sb.run(['--json', 'preflight', 'mastodon', '--env', 'alpha', '--to', '4.6.0']);
    expect(skip.code).toBe(3);
    const tv = check(json<PreflightDoc>(skip), 'target-version');
    expect(tv.status).toBe('fail');
    expect(tv.message).toMatch(/4\.5/);
    expect(tv.fix).toContain('4.5.1');

    const pre = check(
      json<PreflightDoc>(await sb.run(['--json', 'preflight', 'mastodon', '--env', 'alpha', '--to', '4.5.0-rc.1'])),
      'target-version',
    );
    expect(pre.status).toBe('fail');
    expect(pre.message + pre.fix).toContain('--pre');

    const down = check(
      json<PreflightDoc>(await sb.run(['--json', 'preflight', 'mastodon', '--env', 'alpha', '--to', '4.3.8'])),
      'target-version',
    );
    expect(down.message).toMatch(/downgrade/i);

    const missing = check(
      json<PreflightDoc>(await sb.run(['--json', 'preflight', 'mastodon', '--env', 'alpha', '--to', '4.4.99'])),
      'target-version',
    );
    expect(missing.status).toBe('fail');
  });

  it('preflight of an abra app: its host, abra, the recipe checkout, the app, its env file, a backup, its SSO', async () => {
    const r = await sb.run(['--json', 'preflight', 'bonfire', '--env', 'prod']);
    expect(r.code).toBe(0);
    expect(json<PreflightDoc>(r).checks.map((c) => `${c.id}:${c.status}`)).toEqual([
      'ssh:pass',
      'lock:pass',
      'disk:pass',
      'backup-host:pass',
      'raid:pass',
      'reboot:pass',
      'secrets:pass',
      'matrix:pass',
      'abra:pass',
      'recipe-checkout:pass',
      'abra-app:pass',
      'env-file:pass',
      'app-backup:pass',
      'servers-repo:pass',
      'compose-overlays:pass',
      'sso:pass',
    ]);
  });

  it('faults: degraded RAID fails preflight, a pending reboot warns, --clear restores', async () => {
    await sb.fault('alpha', 'raid-degraded');
    await sb.fault('alpha', 'reboot-required');
    const r = await sb.run(['--json', 'preflight', 'mastodon', '--env', 'alpha']);
    expect(r.code).toBe(3);
    const doc = json<PreflightDoc>(r);
    expect(check(doc, 'raid')).toMatchObject({ status: 'fail', message: 'degraded RAID: md0 [U_]' });
    expect(check(doc, 'reboot').status).toBe('warn');
    await sb.fault('--clear');
    expect((await sb.run(['preflight', 'mastodon', '--env', 'alpha'])).code).toBe(0);
  });

  it('faults: an unhealthy Mastodon and an unreachable host are rows that say so, not crashes', async () => {
    await sb.fault('prod', 'health-fails');
    await sb.fault('hypha', 'host-down');
    try {
      const r = await sb.run(['--json', 'status']);
      expect(r.code).toBe(0);
      const doc = json<StatusDoc>(r);
      expect(doc.services.find((s) => s.service === 'mastodon' && s.env === 'prod')).toMatchObject({
        healthy: false,
        version: '4.4.7',
        reachable: true,
      });
      const bonfire = doc.services.find((s) => s.service === 'bonfire')!;
      expect(bonfire.reachable).toBe(false);
      expect(bonfire.errors.join('\n')).toMatch(/cannot reach hypha/);
      const pf = await sb.run(['--json', 'preflight', 'wiki', '--env', 'prod']);
      expect(pf.code).toBe(3);
      expect(check(json<PreflightDoc>(pf), 'ssh').status).toBe('fail');
    } finally {
      await sb.fault('--clear');
    }
    const after = json<StatusDoc>(await sb.run(['--json', 'status', 'bonfire']));
    expect(after.services[0]).toMatchObject({ reachable: true, healthy: true });
  });

  it('locks: held on the host, exit 4 for others, visible in status and preflight, forced release recorded', async () => {
    const ana = { COOPCTL_OPERATOR: 'Ana' };
    const bo = { COOPCTL_OPERATOR: 'Bo' };
    const acq = await sb.run(['lock', 'acquire', 'mastodon', '--env', 'prod', '-m', 'db maintenance'], ana);
    expect(acq.code).toBe(0);
    expect(existsSync(path.join(sb.dir, 'hosts/prod/var/lib/coopctl/mastodon/prod/lock/info.json'))).toBe(true);
    const st = json<{ held: boolean; holder: string; stale: boolean; command: string }>(
      await sb.run(['--json', 'lock', 'status', 'mastodon', '--env', 'prod'], bo),
    );
    expect(st).toMatchObject({ held: true, holder: 'Ana', stale: false, command: 'lock acquire' });
    expect((await sb.run(['lock', 'acquire', 'mastodon', '--env', 'prod'], bo)).code).toBe(4);
    const rel = await sb.run(['lock', 'release', 'mastodon', '--env', 'prod'], bo);
    expect(rel.code).toBe(4);
    expect(rel.stderr).toContain('locked by Ana');
    const pf = json<PreflightDoc>(await sb.run(['--json', 'preflight', 'mastodon', '--env', 'prod'], bo));
    expect(check(pf, 'lock')).toMatchObject({ status: 'fail' });
    expect(check(pf, 'lock').message).toContain('db maintenance');
    expect(
      json<StatusDoc>(await sb.run(['--json', 'status', 'mastodon', '--env', 'prod'])).services[0].lock,
    ).toMatchObject({ held: true });
    const forced = await sb.run(['lock', 'release', 'mastodon', '--env', 'prod', '--force', '-m', 'Ana is away'], bo);
    expect(forced.code).toBe(0);
    const history = readdirSync(path.join(sb.dir, 'hosts/prod/var/lib/coopctl/mastodon/prod/history'));
    expect(history).toHaveLength(1);
    const rec = readFileSync(path.join(sb.dir, 'hosts/prod/var/lib/coopctl/mastodon/prod/history', history[0]), 'utf8');
    expect(rec).toContain('forced release of a lock held by Ana');
    expect(rec).toContain('Ana is away');
    // own manual lock: released without --force
    expect((await sb.run(['lock', 'acquire', 'mastodon', '--env', 'prod'], ana)).code).toBe(0);
    expect((await sb.run(['lock', 'release', 'mastodon', '--env', 'prod'], ana)).code).toBe(0);
    expect(json<{ held: boolean }>(await sb.run(['--json', 'lock', 'status', 'mastodon', '--env', 'prod'])).held).toBe(
      false,
    );
  });

  it("a manual lock is its holder's by lock id, not by name; what it shows cannot drive the terminal", async () => {
    // each operator's state dir lives in the sandbox's own, removed with it
    const home = (n: string) => mkdtempSync(path.join(sb.dir, `${n}-state-`));
    const ana = { COOPCTL_OPERATOR: 'Ana', XDG_STATE_HOME: home('ana') };
    const notAna = { COOPCTL_OPERATOR: 'Ana', XDG_STATE_HOME: home('other') };
    const acq = await sb.run(
      ['lock', 'acquire', 'mastodon', '--env', 'prod', '-m', 'upgrading \x1b[2J\x1b]0;x\x07'],
      ana,
    );
    expect(acq.code).toBe(0);
    expect(acq.stdout).not.toContain('\x1b');
    const st = await sb.run(['lock', 'status', 'mastodon', '--env', 'prod'], notAna);
    expect(st.stdout).toContain('upgrading \\x1b[2J\\x1b]0;x\\x07');
    expect(st.stdout).not.toMatch(/[\x1b\x07]/);
    const taken = await sb.run(['lock', 'release', 'mastodon', '--env', 'prod'], notAna);
    expect(taken.code).toBe(4);
    expect(taken.stderr).toContain('it was not taken from here');
    expect(taken.stderr).not.toMatch(/[\x1b\x07]/);
    expect((await sb.run(['lock', 'release', 'mastodon', '--env', 'prod'], ana)).code).toBe(0);
    expect(json<{ held: boolean }>(await sb.run(['--json', 'lock', 'status', 'mastodon', '--env', 'prod'])).held).toBe(
      false,
    );
  });

  it('--dry-run skips the change and says so', async () => {
    const r = await sb.run(['--dry-run', '-v', 'lock', 'acquire', 'mastodon', '--env', 'alpha']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('! skipped (dry run) on alpha');
    expect(json<{ held: boolean }>(await sb.run(['--json', 'lock', 'status', 'mastodon', '--env', 'alpha'])).held).toBe(
      false,
    );
  });

  it('sandbox commands act on the sandbox of -c FILE; --dir wins; a config no sandbox wrote is refused', async () => {
    const { coopctl, REPO } = await import('../helpers/cli.js');
    const elsewhere = { cwd: os.tmpdir() };
    const on = await coopctl(['-c', sb.config, '--json', 'sandbox', 'fault', 'alpha', 'reboot-required'], elsewhere);
    expect(on.code, on.stderr).toBe(0);
    expect(json<{ faults: Array<{ target: string; kind: string }> }>(on).faults).toEqual([
      expect.objectContaining({ target: 'alpha', kind: 'reboot-required' }),
    ]);
    expect(existsSync(path.join(sb.dir, 'hosts/alpha/var/run/reboot-required'))).toBe(true);
    const st = json<{ dir: string; faults: unknown[] }>(
      await coopctl(['-c', sb.config, '--json', 'sandbox', 'status'], elsewhere),
    );
    expect(st.dir).toBe(sb.dir);
    expect(st.faults).toHaveLength(1);
    const notSandbox = await coopctl(['-c', path.join(REPO, 'coopctl.yaml'), 'sandbox', 'fault', '--clear']);
    expect(notSandbox.code).toBe(2);
    expect(notSandbox.stderr).toContain('not a coopctl.yaml written by `coopctl sandbox up`');
    const withDir = await coopctl([
      '-c',
      path.join(REPO, 'coopctl.yaml'),
      '--json',
      'sandbox',
      'fault',
      '--clear',
      '--dir',
      sb.dir,
    ]);
    expect(withDir.code, withDir.stderr).toBe(0);
    expect(json<{ faults: unknown[] }>(withDir).faults).toEqual([]);
    expect(existsSync(path.join(sb.dir, 'hosts/alpha/var/run/reboot-required'))).toBe(false);
  });

  it('sandbox status reports every process; down stops them all', async () => {
    const st = json<{ processes: Array<{ what: string; running: boolean }> }>(
      await (await import('../helpers/cli.js')).coopctl(['--json', 'sandbox', 'status', '--dir', sb.dir]),
    );
    expect(st.processes.length).toBeGreaterThanOrEqual(10);
    expect(st.processes.every((p) => p.running)).toBe(true);
    expect(st.processes.map((p) => p.what)).toContain('matrix homeserver (stand-in)');
    const pidFiles = [
      ...['alpha', 'prod', 'hypha'].map((h) => path.join(sb.dir, 'hosts', h, 'etc/ssh/sshd.pid')),
      path.join(sb.dir, 'hosts/alpha/run/mastodon-web.pid'),
      path.join(sb.dir, 'hosts/hypha/traefik.pid'),
      path.join(sb.dir, 's3/s3rver.pid'),
      path.join(sb.dir, 'matrix/homeserver.pid'),
      path.join(sb.dir, 'hosts/alpha/pg/data/postmaster.pid'),
    ];
    const pids = pidFiles.map((f) => readPid(f)!);
    expect(pids.every((p) => p !== undefined && isRunning(p))).toBe(true);
    const state = JSON.parse(readFileSync(path.join(sb.dir, 'sandbox.json'), 'utf8')) as {
      mode: string;
      hosts: Array<{ netns?: { ns: string } }>;
    };
    const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    if (process.getuid?.() === 0) {
      // as root the hosts live in network namespaces, each with its own address
      expect(state.mode).toBe('netns');
      for (const h of state.hosts) expect(namespaces()).toContain(h.netns!.ns);
    } else expect(state.mode).toBe('loopback');
    await (await import('../helpers/cli.js')).coopctl(['sandbox', 'down', '--dir', sb.dir]);
    expect(pids.filter((p) => isRunning(p))).toEqual([]);
    if (state.mode === 'netns') for (const h of state.hosts) expect(namespaces()).not.toContain(h.netns!.ns);
    // and up again restarts what a reboot would have stopped
    const up = await (await import('../helpers/cli.js')).coopctl(['sandbox', 'up', '--dir', sb.dir]);
    expect(up.code).toBe(0);
    expect(
      json<StatusDoc>(await sb.run(['--json', 'status', 'mastodon'])).services.every(
        (s) => s.healthy && s.version === '4.4.7',
      ),
    ).toBe(true);
  });
});
