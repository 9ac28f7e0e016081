import { existsSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { killTree, operatorTerminal, SandboxMastodon, startCli, waitFor } from '../helpers/upgradeSandbox.js';

/**
 * Locks between operators, on the sandbox's real hosts (sshd, the state dir on the host): a run killed with its
 * lock held, then what the operators who find it do.
 */

let sb: TestSandbox;
let prod: SandboxMastodon;

beforeAll(async () => {
  sb = await startSandbox();
  prod = new SandboxMastodon(sb, 'prod');
}, 600_000);

afterAll(async () => {
  await sb?.down();
});

/**
 * An operator's laptop whose clock is off by `offset` (libfaketime, as `faketime -f` takes it: '+3d', '-2d'), for
 * coopctl's own process (node): what coopctl does with its clock is what is tested; the hosts keep theirs.
 */
function laptopClock(offset: string): Record<string, string> {
  const lib = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
  if (!existsSync(lib)) throw new Error(`${lib} is missing: install faketime (scripts/setup.sh does)`);
  return { LD_PRELOAD: lib, FAKETIME: offset, FAKETIME_ONLY_CMDS: 'node', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}

interface HistoryDoc {
  records: Array<{ id: string; operation: string; status: string; operator: string; startedAt: string }>;
}

/** Each operator's own laptop state (logs, manual lock ids), inside the sandbox's dir so it goes with it. */
const stateHome = (name: string) => mkdtempSync(path.join(sb.dir, `${name}-state-`));

describe("history and the soak go by the host's clock, never an operator's laptop's", () => {
  it('a rejection lifted after it was made stays lifted, though the rejecting laptop ran three days ahead', async () => {
    const ana = { COOPCTL_OPERATOR: 'Ana', ...laptopClock('+3d') };
    const rejected = await sb.run(['reject', 'mastodon', '4.5.1', '--reason', 'breaks federation'], ana);
    expect(rejected.code, rejected.stderr).toBe(0);
    const bo = { COOPCTL_OPERATOR: 'Bo' };
    const lifted = await sb.run(['unreject', 'mastodon', '4.5.1', '--reason', 'fixed upstream'], bo);
    expect(lifted.code, lifted.stderr).toBe(0);

    const versions = json<{ versions: Array<{ version: string; rejected: boolean }> }>(
      await sb.run(['--json', 'versions', 'mastodon', '--env', 'prod']),
    );
    expect(versions.versions.find((v) => v.version === '4.5.1')).toMatchObject({ rejected: false });
    const history = json<HistoryDoc>(await sb.run(['--json', 'history', 'mastodon', '--env', 'prod']));
    expect(history.records.map((r) => [r.operation, r.operator])).toEqual([
      ['unreject', 'Bo'],
      ['reject', 'Ana'],
    ]);
    for (const r of history.records) expect(Math.abs(Date.parse(r.startedAt) - Date.now())).toBeLessThan(600_000);
  });

  it('the soak is measured by the source host: a promoter whose laptop runs two days ahead does not make a fresh change soaked', async () => {
    const up = await sb.run(['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--yes', '--no-check'], {
      XDG_STATE_HOME: stateHome('ana'),
    });
    expect(up.code, up.stderr).toBe(0);
    for (const clock of [{}, laptopClock('+2d')]) {
      const promote = await sb.run(['--dry-run', 'promote', 'mastodon'], { COOPCTL_OPERATOR: 'Bo', ...clock });
      expect(promote.code, promote.stderr).toBe(3);
      expect(promote.stderr).toMatch(
        /mastodon\/alpha has run 4\.4\.8 for \d[\d.ms]* \(since .*\); the soak time is 24h0m/,
      );
    }
  });
});

describe('breaking a stale lock', () => {
  it('two operators at their terminals break the same stale lock at once: one breaks it and upgrades, the other is refused (exit 4); both are recorded', async () => {
    const killed = startCli(sb, ['upgrade', 'mastodon', '--env', 'prod', '--to', '4.4.8', '--yes', '--no-check'], {
      XDG_STATE_HOME: stateHome('killed'),
    });
    const dead = await waitFor('the run to take its lock', () => prod.lockInfo(), 90_000);
    killTree(killed.pid!);
    await killed;

    const operator = (name: string) =>
      operatorTerminal(sb, ['upgrade', 'mastodon', '--env', 'prod', '--to', '4.4.8', '--no-check'], {
        COOPCTL_OPERATOR: name,
        XDG_STATE_HOME: stateHome(name),
      });
    const terminals = await Promise.all([operator('Bo'), operator('Cy')]);
    try {
      for (const t of terminals)
        await t.waitForScreen(
          'the confirmation',
          (s) => s.includes('Upgrade mastodon/prod from 4.4.7 to 4.4.8 now? (y/N)'),
          90_000,
        );
      await Promise.all(terminals.map((t) => t.send('y', 'Enter')));
      for (const t of terminals)
        await t.waitForScreen('the stale-lock question', (s) => s.includes('Break it and continue? (y/N)'), 60_000);
      // both have judged the same dead lock; both say yes at the same moment
      await Promise.all(terminals.map((t) => t.send('y', 'Enter')));
      const codes = await Promise.all(terminals.map((t) => t.exitCode(240_000)));
      expect([...codes].sort()).toEqual([0, 4]);
      const refused = await terminals[codes.indexOf(4)].transcript();
      expect(refused.replace(/\n/g, '')).toContain('is locked by');
    } finally {
      await Promise.all(terminals.map((t) => t.close()));
    }

    const breaks = prod.records().filter((r) => r.operation === 'lock-force-release');
    expect(breaks.map((r) => r.status).sort()).toEqual(['failed', 'succeeded']);
    for (const r of breaks) expect(r.details.brokenLock).toMatchObject({ id: dead.id, pid: killed.pid });
    const won = breaks.find((r) => r.status === 'succeeded')!;
    const lost = breaks.find((r) => r.status === 'failed')!;
    expect([won.operator, lost.operator].sort()).toEqual(['Bo', 'Cy']);
    expect(lost.transitions.at(-1)!.note).toContain(`not broken: ${won.operator} (`);
    expect(lost.transitions.at(-1)!.note).toContain('broke it first');

    expect(await prod.running()).toEqual({ version: '4.4.8', healthy: true });
    expect(existsSync(prod.lockDir)).toBe(false);
    const upgrades = prod.records().filter((r) => r.operation === 'upgrade');
    expect(upgrades.filter((r) => r.status === 'succeeded')).toHaveLength(1);
  }, 420_000);
});
