import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseExec, parseUnit, unitEnvironment, unitValue, unitValues } from '../doubles/mastodon/units.js';
import { json } from '../helpers/cli.js';
import { startSandbox, sshToHost, type TestSandbox } from '../helpers/sandbox.js';
import { sandboxLayout } from '../world/layout.js';
import { readState } from '../world/state.js';

/**
 * `coopctl schedule install` on the sandbox's alpha, through the real playbook over SSH: coopctl from `npm pack`,
 * its config, its own key and the units. Each unit's commands then run as systemd would run them (the installed
 * .service's User, Environment, ExecStart and ExecStartPost, over SSH as that user), and `status` judges what they
 * left from the backups: fresh, then STALE once the schedule's period + grace has passed with no new run.
 */
let sb: TestSandbox;
let config: string;
let alphaRoot: string;
let unitUser: string;

interface StatusDoc {
  services: Array<{
    service: string;
    env: string;
    freshness: null | Record<'backup' | 'restoreTest', { at: string | null; limitMs: number; stale: boolean }>;
  }>;
}

const unitDir = () => path.join(alphaRoot, 'etc/systemd/system');

beforeAll(async () => {
  sb = await startSandbox();
  const layout = sandboxLayout(sb.dir);
  const state = readState(layout.state);
  const alpha = state.hosts.find((h) => h.name === 'alpha')!;
  alphaRoot = layout.host('alpha');
  unitUser = alpha.login ?? state.user;
  // The schedule host's paths, as an operator's host_vars would set them for a host laid out differently.
  const inventory = parse(readFileSync(layout.inventory, 'utf8'));
  const alphaVars = inventory.all.children.mastodon.hosts.alpha;
  const under = (p: string) => path.join(alphaRoot, p);
  Object.assign(alphaVars, {
    coopctl_schedule_create_user: false,
    coopctl_schedule_prefix: under('opt/coopctl'),
    coopctl_schedule_config_dir: under('etc/coopctl'),
    coopctl_schedule_systemd_dir: under('etc/systemd/system'),
    coopctl_schedule_textfile_dir: under('var/lib/prometheus/node-exporter'),
    coopctl_schedule_lock_dir: under('run/lock'),
    coopctl_schedule_node: process.execPath,
  });
  const scheduleInventory = path.join(sb.dir, 'schedule-inventory.yml');
  writeFileSync(scheduleInventory, stringify(inventory));
  // The restore tests' own identity, one of the recipients (the backups the units make are encrypted to it).
  const identityFile = path.join(sb.dir, 'restore-test.age');
  const keygen = spawnSync('age-keygen', ['-o', identityFile], { encoding: 'utf8' });
  expect(keygen.status, keygen.stderr).toBe(0);
  const recipient = /age1[0-9a-z]+/.exec(readFileSync(identityFile, 'utf8'))![0];
  const doc = parse(readFileSync(sb.config, 'utf8'));
  doc.backup.store = 's3';
  doc.backup.encryption.recipients.push(recipient);
  doc.schedule = {
    inventory: path.relative(sb.dir, scheduleInventory),
    host: 'alpha',
    user: unitUser,
    playbook: path.join(process.cwd(), 'playbooks', 'schedule.yml'),
    // every minute: the test sees a backup go stale without waiting a night
    backup: { onCalendar: 'minutely', randomizedDelay: '5s' },
    restoreTest: { onCalendar: 'hourly', randomizedDelay: '1m' },
    targets: ['mastodon/alpha'],
    grace: '20s',
    identity: { file: path.relative(sb.dir, identityFile) },
  };
  config = path.join(sb.dir, 'schedule.yaml');
  writeFileSync(config, stringify(doc));
}, 600_000);

afterAll(async () => {
  await sb?.down();
});

/** Runs each Exec line of the installed unit as systemd would: as its User, with its Environment, in order. */
function runUnit(name: string): { ok: boolean; output: string } {
  const unit = parseUnit(readFileSync(path.join(unitDir(), `${name}.service`), 'utf8'));
  expect(unitValue(unit, 'Service', 'Type')).toBe('oneshot');
  const user = unitValue(unit, 'Service', 'User')!;
  const env = Object.entries(unitEnvironment(unit)).map(([k, v]) => `${k}=${v}`);
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  let output = '';
  for (const key of ['ExecStart', 'ExecStartPost']) {
    for (const line of unitValues(unit, 'Service', key)) {
      const { argv } = parseExec(line);
      const r = sshToHost(sb.dir, 'alpha', ['env', ...env, ...argv].map(quote).join(' '), user);
      output += `$ ${argv.join(' ')}\n${r.stdout.toString()}${r.stderr}\n`;
      // systemd.service(5): a failing ExecStart= ends the run; ExecStartPost= only follows a success
      if (r.code !== 0) return { ok: false, output };
    }
  }
  return { ok: true, output };
}

async function freshness() {
  const r = await sb.run(['-c', config, '--json', 'status', 'mastodon', '--env', 'alpha']);
  expect(r.code, r.stderr).toBe(0);
  return json<StatusDoc>(r).services[0].freshness!;
}

describe('coopctl schedule', () => {
  it('installs coopctl, its config and the timers on alpha through the playbook', async () => {
    const r = await sb.run(['-c', config, 'schedule', 'install'], {});
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const units = readdirSync(unitDir()).filter((f) => f.startsWith('coopctl-'));
    expect(units.sort()).toEqual([
      'coopctl-backup-mastodon-alpha.service',
      'coopctl-backup-mastodon-alpha.timer',
      'coopctl-restore-test-mastodon-alpha.service',
      'coopctl-restore-test-mastodon-alpha.timer',
    ]);
    const timer = parseUnit(readFileSync(path.join(unitDir(), 'coopctl-backup-mastodon-alpha.timer'), 'utf8'));
    expect(unitValue(timer, 'Timer', 'OnCalendar')).toBe('minutely');
    expect(unitValue(timer, 'Timer', 'Persistent')).toBe('true');
    expect(unitValue(timer, 'Timer', 'RandomizedDelaySec')).toBe('5');
    // systemd's own checker reads the units as systemd would load them (where systemd-analyze is installed)
    const verify = spawnSync('systemd-analyze', ['verify', '--man=no', ...units.map((u) => path.join(unitDir(), u))], {
      encoding: 'utf8',
    });
    if (!verify.error) expect(verify.stderr).not.toMatch(/Unknown (key|section)|Failed to parse|bad-setting/i);
    // the enabled timers, as the systemctl double records them
    const enabled = sshToHost(sb.dir, 'alpha', 'systemctl is-enabled coopctl-backup-mastodon-alpha.timer');
    expect(enabled.stdout.toString().trim()).toBe('enabled');
    // secrets: the user's only; the operators' own identity never went there
    const secrets = path.join(alphaRoot, 'etc/coopctl/secrets');
    expect(readdirSync(secrets).sort()).toEqual(
      expect.arrayContaining(['id_ed25519', 'id_ed25519.pub', 'restore-test-identity']),
    );
    const hostConfig = readFileSync(path.join(alphaRoot, 'etc/coopctl/coopctl.yaml'), 'utf8');
    expect(hostConfig).not.toMatch(/pass:/);
    expect(hostConfig).toContain('identity:\n      file: secrets/restore-test-identity');
    // the operator authorizes the units' key on the hosts they reach (here alpha itself), as the command says
    const pubkey = /ssh-ed25519 \S+ coopctl-schedule@alpha/.exec(r.stdout)![0];
    const layout = sandboxLayout(sb.dir);
    const alpha = readState(layout.state).hosts.find((h) => h.name === 'alpha')!;
    // test/world/become.ts: a host with a login reads the copy under its root
    const keys = alpha.login ? path.join(alphaRoot, 'etc/ssh/authorized_keys') : layout.ssh.authorizedKeys;
    appendFileSync(keys, `${pubkey}\n`);
  }, 600_000);

  it('the backup unit makes a backup and marks it; the restore-test unit restore-tests it; status: fresh', async () => {
    const backup = runUnit('coopctl-backup-mastodon-alpha');
    expect(backup.ok, backup.output).toBe(true);
    const restore = runUnit('coopctl-restore-test-mastodon-alpha');
    expect(restore.ok, restore.output).toBe(true);
    const textfiles = path.join(alphaRoot, 'var/lib/prometheus/node-exporter');
    expect(readFileSync(path.join(textfiles, 'coopctl_backup_mastodon_alpha.prom'), 'utf8')).toMatch(
      /^coopctl_backup_last_success_timestamp_seconds\{service="mastodon",env="alpha"\} \d{10}$/m,
    );
    expect(existsSync(path.join(textfiles, 'coopctl_restoreTest_mastodon_alpha.prom'))).toBe(true);
    const f = await freshness();
    expect(f.backup).toMatchObject({ stale: false, limitMs: 80_000 });
    expect(f.restoreTest).toMatchObject({ stale: false, limitMs: 3_620_000 });
  }, 600_000);

  it('a timer that stopped: once the period + grace passed without a backup, status says STALE', async () => {
    const stop = sshToHost(sb.dir, 'alpha', 'systemctl disable --now coopctl-backup-mastodon-alpha.timer');
    expect(stop.code, stop.stderr).toBe(0);
    const { at } = (await freshness()).backup;
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(at!) + 81_000 - Date.now())));
    const f = await freshness();
    expect(f.backup.stale).toBe(true);
    expect(f.restoreTest.stale).toBe(false);
    const text = await sb.run(['-c', config, 'status', 'mastodon', '--env', 'alpha']);
    expect(text.stdout).toMatch(/STALE/);
    expect(text.stdout).toMatch(/mastodon\/alpha: backup .* ago: STALE \(schedule allows 1m20s\)/);
  }, 300_000);
});
