import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import type { TmuxSession } from '../helpers/tmux.js';
import {
  applyEvents,
  killTree,
  operatorTerminal,
  processTree,
  SandboxMastodon,
  signalTree,
  startCli,
  stderrSoFar,
  waitFor,
} from '../helpers/upgradeSandbox.js';

/**
 * `coopctl upgrade` driven by a person at a terminal, interrupted, and
 * killed: the picker in a real terminal (tmux), SIGINT mid-apply, a frozen
 * then SIGKILLed run whose lock goes stale. alpha: 4.4.7 → 4.4.8 (picker) →
 * 4.5.0 (interrupted, restored); prod: 4.4.7 → 4.4.8 (killed, then recovered).
 */

interface UpgradeDoc {
  ok: boolean;
  state: string;
  record: { id: string; status: string; from: string; to: string };
}
interface HistoryDoc {
  records: Array<{ id: string; operation: string; status: string; from: string | null; to: string | null }>;
}

let sb: TestSandbox;
let alpha: SandboxMastodon;
let prod: SandboxMastodon;
const stateHomes: string[] = [];

beforeAll(async () => {
  sb = await startSandbox();
  alpha = new SandboxMastodon(sb, 'alpha');
  prod = new SandboxMastodon(sb, 'prod');
});

afterAll(async () => {
  await sb?.down();
});

/** Each run keeps its local logs (and the Ansible events file the tests watch) in its own dir. */
function freshStateHome(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-state-'));
  stateHomes.push(dir);
  return dir;
}

afterAll(() => {
  for (const d of stateHomes) rmSync(d, { recursive: true, force: true });
});

/** `upgrade --yes --json` in the background, handed over once its playbook has started the task named (or any task). */
async function upgradeUntilTask(env: string, to: string, task?: RegExp, extraEnv: Record<string, string> = {}) {
  const home = freshStateHome();
  const run = startCli(sb, ['--json', 'upgrade', 'mastodon', '--env', env, '--to', to, '--yes', '--no-check'], {
    XDG_STATE_HOME: home,
    ...extraEnv,
  });
  await waitFor(
    `the playbook to start ${task ?? 'a task'}`,
    () => applyEvents(home).find((e) => e.event === 'task_start' && (!task || task.test(String(e.task)))),
    90_000,
  );
  return { run }; // wrapped: an async function would await the subprocess itself
}

function terminal(args: string[], config = sb.config): Promise<TmuxSession> {
  return operatorTerminal(sb, args, { XDG_STATE_HOME: freshStateHome() }, config);
}

describe('coopctl upgrade at a terminal', () => {
  it('the picker offers the sensible targets first, refused ones disabled with the reason, then upgrades after y', async () => {
    const term = await terminal(['upgrade', 'mastodon', '--env', 'alpha']);
    try {
      const picker = await term.waitForScreen(
        'the version picker',
        (s) => s.includes('Upgrade from 4.4.7 to') && s.includes('4.6.0'),
      );
      const choices = picker.split('\n').filter((l) => /^[❯ -] \d/.test(l));
      expect(choices.map((l) => l.slice(2).split(' ')[0])).toEqual(['4.4.8', '4.5.1', '4.5.0', '4.6.0']);
      expect(choices[0]).toMatch(/^❯ 4\.4\.8 \[security\] — newest patch of 4\.4/);
      expect(choices[1]).toMatch(/^ {2}4\.5\.1 \[security\] — newest patch of the next series 4\.5/);
      expect(choices[3]).toMatch(/^- 4\.6\.0 \(4\.4\.7 → 4\.6\.0 skips series 4\.5/);
      expect(picker).not.toContain('rc.1');

      await term.send('Down');
      await term.waitForScreen('the cursor on 4.5.1', (s) => /^❯ 4\.5\.1/m.test(s));
      await term.send('Up');
      await term.waitForScreen('the cursor back on 4.4.8', (s) => /^❯ 4\.4\.8/m.test(s));
      await term.send('Enter');
      const confirm = await term.waitForScreen(
        'the confirmation',
        (s) => s.includes('Upgrade mastodon/alpha from 4.4.7 to 4.4.8 now? (y/N)'),
        60_000,
      );
      expect(confirm).toContain('PLAY RECAP'); // the --check --diff preview came before the question
      expect(await term.transcript()).toMatch(/^## 4\.4\.8 \(2025-10-21\) — SECURITY/m);
      await term.send('y', 'Enter');

      expect(await term.exitCode(90_000)).toBe(0);
      const out = await term.transcript();
      expect(out).toContain('✔ Upgrade from 4.4.7 to 4.4.8');
      expect(out).toMatch(/✔ Verify 4\.4\.8 is healthy/);
      expect(out).toContain('### coopctl upgrade mastodon/alpha: 4.4.7 → 4.4.8 — succeeded');
      expect(out).toContain('- **State:** mastodon/alpha runs 4.4.8, verified healthy');
    } finally {
      await term.close();
    }
    expect(await alpha.running()).toEqual({ version: '4.4.8', healthy: true });
    expect(alpha.records().map((r) => [r.from, r.to, r.status])).toEqual([['4.4.7', '4.4.8', 'succeeded']]);
  }, 180_000);
});

describe('coopctl upgrade interrupted', () => {
  it('SIGINT during preflight: no later stage starts, no lock, no record, exit 130', async () => {
    const run = startCli(sb, ['upgrade', 'mastodon', '--env', 'prod', '--to', '4.4.8', '--yes', '--no-check']);
    const progress = stderrSoFar(run);
    await waitFor('preflight to start', () => progress().includes('→ Preflight checks'), 60_000);
    run.kill('SIGINT');
    const r = await run;
    expect(r.exitCode, String(r.stderr)).toBe(130);
    expect(String(r.stderr)).toContain('interrupted before: Take the lock of mastodon/prod on prod');
    expect(String(r.stderr)).not.toContain('Safety backup');
    expect(existsSync(prod.lockDir)).toBe(false);
    expect(prod.records()).toEqual([]);
    expect(prod.backups()).toEqual([]);
  });

  it('SIGINT mid-apply: undone and restored, recorded cancelled, lock released, exit 130', async () => {
    const rows = alpha.rowCounts();
    const migrations = alpha.migrations();
    // Each migration takes 3 s: the one running when the playbook is stopped goes on on the host, and coopctl
    // must let it end before it looks at the schema and restores (or the migration lands after the restore).
    // A post-deployment one: 4.4.8 cannot run on it, so the database of before must come back.
    await sb.fault('alpha', 'migrations-slow');
    let r;
    try {
      const { run } = await upgradeUntilTask('alpha', '4.5.0', /Run post-deployment database migrations/);
      await new Promise((res) => setTimeout(res, 1500));
      run.kill('SIGINT');
      r = await run;
    } finally {
      await sb.fault('--clear', 'alpha');
    }
    expect(r.exitCode, String(r.stderr)).toBe(130);
    expect(String(r.stderr)).toContain('SIGINT: stopping safely');
    const doc = json<UpgradeDoc>({ code: 130, stdout: String(r.stdout), stderr: '' });
    expect(doc.ok).toBe(false);
    expect(doc.record).toMatchObject({ status: 'cancelled', from: '4.4.8', to: '4.5.0' });
    expect(doc.state).toMatch(/^restored: mastodon\/alpha runs 4\.4\.8 again, verified healthy/);

    const rec = alpha.record(doc.record.id);
    expect(rec.transitions.map((t) => t.status)).toEqual(['pending', 'cancelled']);
    expect(existsSync(alpha.lockDir)).toBe(false);
    expect(await alpha.running()).toEqual({ version: '4.4.8', healthy: true });
    expect(alpha.rowCounts()).toEqual(rows);
    expect(alpha.migrations()).toEqual(migrations);
  });

  it('a frozen run goes stale by heartbeat, a killed one by its dead pid; the next run says so (exit 4), lock release --force is recorded, then an upgrade succeeds', async () => {
    const staleEnv = { COOPCTL_LOCK_STALE_AFTER: '3' };
    const { run } = await upgradeUntilTask('prod', '4.4.8', undefined, staleEnv);
    const tree = processTree(run.pid!);
    expect(tree.length).toBeGreaterThan(1); // coopctl and its ansible-playbook
    signalTree(tree, 'SIGSTOP');
    let killedRecord: string;
    try {
      const lock = prod.lockInfo()!;
      expect(lock).toMatchObject({ kind: 'auto', pid: run.pid, command: 'upgrade mastodon --env prod --to 4.4.8' });
      // a live run beats faster than the threshold; a frozen one stops beating
      await waitFor(
        'the heartbeat to age past 3s',
        () => Date.now() - Date.parse(String(prod.lockInfo()!.heartbeatAt)) > 3_500,
        15_000,
        250,
      );

      const status = json<{ held: boolean; stale: boolean; staleReason: string }>(
        await sb.run(['--json', 'lock', 'status', 'mastodon', '--env', 'prod'], staleEnv),
      );
      expect(status).toMatchObject({ held: true, stale: true });
      expect(status.staleReason).toMatch(/^no heartbeat for \d+s/);

      const blocked = await sb.run(
        ['upgrade', 'mastodon', '--env', 'prod', '--to', '4.4.8', '--yes', '--no-check'],
        staleEnv,
      );
      expect(blocked.code).toBe(4);
      expect(blocked.stderr).toMatch(/stale: no heartbeat for \d+s/);
      expect(blocked.stderr).toContain('coopctl lock release mastodon --env prod --force');

      const pending = prod.records();
      expect(pending.map((r) => r.status)).toEqual(['pending']);
      killedRecord = pending[0].id;
    } finally {
      killTree(run.pid!);
    }
    expect((await run).signal).toBe('SIGKILL');

    // Same machine, dead pid: stale at once, whatever the threshold.
    const afterKill = await sb.run(['upgrade', 'mastodon', '--env', 'prod', '--to', '4.4.8', '--yes', '--no-check']);
    expect(afterKill.code).toBe(4);
    expect(afterKill.stderr).toContain(`stale: process ${run.pid} on ${os.hostname()} is gone`);
    expect(afterKill.stderr).toContain('coopctl lock release mastodon --env prod --force');

    // What a reader sees: the killed run is interrupted, not in progress.
    const seen = json<HistoryDoc>(await sb.run(['--json', 'history', 'mastodon', '--env', 'prod']));
    expect(seen.records.find((r) => r.id === killedRecord)).toMatchObject({
      operation: 'upgrade',
      status: 'interrupted',
      from: '4.4.7',
      to: '4.4.8',
    });

    const released = await sb.run([
      'lock',
      'release',
      'mastodon',
      '--env',
      'prod',
      '--force',
      '-m',
      'coopctl was killed mid-upgrade',
    ]);
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toContain('forced; recorded in history');
    expect(existsSync(prod.lockDir)).toBe(false);
    const forced = prod.records().find((r) => r.operation === 'lock-force-release')!;
    expect(forced).toMatchObject({ status: 'succeeded', message: 'coopctl was killed mid-upgrade' });
    expect(forced.transitions[0].note).toContain(`process ${run.pid}`);

    // The kill came before the playbook touched the running containers.
    expect(await prod.running()).toEqual({ version: '4.4.7', healthy: true });
    const again = await sb.run([
      '--json',
      'upgrade',
      'mastodon',
      '--env',
      'prod',
      '--to',
      '4.4.8',
      '--yes',
      '--no-check',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(json<UpgradeDoc>(again).record).toMatchObject({ status: 'succeeded', from: '4.4.7', to: '4.4.8' });
    expect(await prod.running()).toEqual({ version: '4.4.8', healthy: true });
    expect(existsSync(prod.lockDir)).toBe(false);

    const history = json<HistoryDoc>(await sb.run(['--json', 'history', 'mastodon', '--env', 'prod']));
    expect(history.records.map((r) => [r.operation, r.status])).toEqual([
      ['upgrade', 'succeeded'],
      ['lock-force-release', 'succeeded'],
      ['upgrade', 'interrupted'],
    ]);
  }, 180_000);

  it("at a terminal, the next run asks before its task list whether to break a killed run's stale lock, records it and goes on", async () => {
    const { run } = await upgradeUntilTask('alpha', '4.5.0');
    killTree(run.pid!);
    await run;
    const killed = alpha.records().find((r) => r.status === 'pending')!;
    expect(killed).toMatchObject({ from: '4.4.8', to: '4.5.0' });

    const term = await terminal(['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.0', '--no-check']);
    try {
      await term.waitForScreen(
        'the confirmation',
        (s) => s.includes('Upgrade mastodon/alpha from 4.4.8 to 4.5.0 now? (y/N)'),
        60_000,
      );
      await term.send('y', 'Enter');
      const question = await term.waitForScreen(
        'the stale-lock question',
        (s) => s.includes('Break it and continue? (y/N)'),
        60_000,
      );
      expect(question).toContain(`The lock is stale:`);
      expect(question.replace(/\n/g, '')).toContain(`process ${run.pid} on ${os.hostname()} is gone`);
      await term.send('y', 'Enter');
      expect(await term.exitCode(90_000)).toBe(0);
      expect(await term.transcript()).toContain('### coopctl upgrade mastodon/alpha: 4.4.8 → 4.5.0 — succeeded');
    } finally {
      await term.close();
    }
    expect(await alpha.running()).toEqual({ version: '4.5.0', healthy: true });
    expect(existsSync(alpha.lockDir)).toBe(false);
    const forced = alpha.records().find((r) => r.operation === 'lock-force-release')!;
    expect(forced.status).toBe('succeeded');
    expect(forced.details.brokenLock).toMatchObject({
      pid: run.pid,
      command: 'upgrade mastodon --env alpha --to 4.5.0',
    });
    const seen = json<HistoryDoc>(await sb.run(['--json', 'history', 'mastodon', '--env', 'alpha']));
    expect(seen.records.find((r) => r.id === killed.id)?.status).toBe('interrupted');
  }, 180_000);

  it('a run whose lock is forced away stops before its next stage and, without the lock, restores nothing: NEEDS ATTENTION', async () => {
    const { run } = await upgradeUntilTask('prod', '4.5.0', /Pull the images/, { COOPCTL_LOCK_STALE_AFTER: '2' });
    const forced = await sb.run(['lock', 'release', 'mastodon', '--env', 'prod', '--force', '-m', 'taking over'], {
      COOPCTL_OPERATOR: 'Bo',
    });
    expect(forced.code, forced.stderr).toBe(0);
    const r = await run;
    expect(r.exitCode, String(r.stderr)).toBe(1);
    const doc = json<UpgradeDoc>({ code: 1, stdout: String(r.stdout), stderr: '' });
    expect(doc.record).toMatchObject({ status: 'failed', from: '4.4.8', to: '4.5.0' });
    expect(doc.state).toMatch(/^NEEDS ATTENTION: mastodon\/prod reports 4\.5\.0; not restored, the lock was lost/);
    const note = prod.record(doc.record.id).transitions.at(-1)!.note;
    expect(note).toContain('the lock was released by someone else');
    expect(note).toContain('NOT restored: the lock was lost');
    // the other operator holds the service now: what the apply left is theirs to see, not rolled back behind them
    expect((await prod.running()).version).toBe('4.5.0');
  });

  it('Ctrl-C at the restoreOnFailure: ask question: NEEDS ATTENTION, nothing restored, the lock kept, exit 130', async () => {
    const config = path.join(sb.dir, 'ask.yaml');
    const doc = parseDocument(readFileSync(sb.config, 'utf8'));
    doc.setIn(['services', 'mastodon', 'restoreOnFailure'], 'ask');
    writeFileSync(config, doc.toString());
    const earlier = new Set(alpha.records().map((r) => r.id));
    const before = (await alpha.running()).version; // 4.5.0 after the tests above
    await sb.fault('alpha', 'migration-fails');
    const term = await terminal(
      ['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.1', '--yes', '--no-check'],
      config,
    );
    try {
      await term.waitForScreen('the restore question', (s) => s.includes('The change failed. Restore'), 120_000);
      await term.send('C-c');
      expect(await term.exitCode(60_000)).toBe(130);
      const out = (await term.transcript()).replace(/\n/g, '');
      expect(out).toContain(`NEEDS ATTENTION: mastodon/alpha reports ${before}; not restored: the question whether to`);
      expect(out).toContain('coopctl lock release mastodon --env alpha --force');
    } finally {
      await term.close();
      await sb.fault('--clear', 'alpha');
    }
    const rec = alpha.records().find((r) => !earlier.has(r.id))!;
    expect(rec).toMatchObject({ status: 'cancelled', from: before, to: '4.5.1' });
    expect(rec.details).toMatchObject({ lockKept: true });
    expect(rec.details.recoveryDeploy).toBeUndefined();
    // kept for someone to look: the next run is refused (exit 4) until it is released
    expect(alpha.lockInfo()).toMatchObject({ command: 'upgrade mastodon --env alpha --to 4.5.1' });
    const next = await sb.run(['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.1', '--yes', '--no-check']);
    expect(next.code, next.stderr).toBe(4);
    const released = await sb.run(['lock', 'release', 'mastodon', '--env', 'alpha', '--force', '-m', 'looked at it']);
    expect(released.code, released.stderr).toBe(0);
    expect(await alpha.running()).toEqual({ version: before, healthy: true });
  }, 240_000);
});
