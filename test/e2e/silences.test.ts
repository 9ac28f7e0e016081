import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertmanagerClient } from '../../src/notify/alertmanager.js';
import { startAlertmanager, type TestAlertmanager } from '../helpers/alertmanager.js';
import { coopctl, json } from '../helpers/cli.js';
import { configVariant, startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { applyEvents, startCli, waitFor } from '../helpers/upgradeSandbox.js';

/**
 * A change silences its service × environment in the real Alertmanager (Debian's prometheus-alertmanager) once its
 * lock is held, and the silence ends with the change: after a success, a rollback, a Ctrl-C. With Alertmanager down,
 * the change goes on and the report warns.
 */

interface UpgradeDoc {
  ok: boolean;
  record: { id: string; status: string; operator: string };
  warnings?: string[];
}

let sb: TestSandbox;
let am: TestAlertmanager;
let config: string;
const homes: string[] = [];

beforeAll(async () => {
  sb = await startSandbox();
  am = await startAlertmanager();
  config = configVariant(sb.dir, 'coopctl.silences.yaml', (doc) => {
    const alpha = (doc.services.mastodon.environments as Record<string, { inventory: string }>).alpha;
    Object.assign(doc, {
      monitoring: { inventory: alpha.inventory, host: 'hypha', alertmanager: { url: am.url, silenceFor: '2h' } },
    });
  });
}, 600_000);

afterAll(async () => {
  await am?.stop();
  await sb?.down();
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

const client = () => new AlertmanagerClient({ url: am.url, timeoutMs: 3000 });
const silencesOf = async (recordId: string) =>
  (await client().silences()).filter((s) => s.comment.includes(`(record ${recordId})`));
const active = async () => (await client().silences()).filter((s) => s.state === 'active');

/** Runs an upgrade with the variant config, noting every silence Alertmanager holds while it runs. */
async function upgradeWatched(to: string, onRunning?: (run: ReturnType<typeof startCli>, home: string) => void) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'coopctl-state-'));
  homes.push(home);
  const run = startCli({ ...sb, config }, ['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', to, '--yes'], {
    XDG_STATE_HOME: home,
  });
  const seen = new Map<string, string>();
  let done = false;
  const watch = (async () => {
    while (!done) {
      for (const s of await client()
        .silences()
        .catch(() => []))
        if (s.state === 'active') seen.set(s.id, s.comment);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  onRunning?.(run, home);
  const r = await run;
  done = true;
  await watch;
  return { r, doc: json<UpgradeDoc>({ code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: '' }), seen };
}

describe('Alertmanager silences during a change', () => {
  it('an upgrade silences mastodon/alpha while it runs, by its operator, and leaves no silence after success', async () => {
    const { r, doc, seen } = await upgradeWatched('4.4.8');
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(doc.record.status).toBe('succeeded');
    const [silence, ...more] = await silencesOf(doc.record.id);
    expect(more).toEqual([]);
    expect(seen.get(silence.id)).toBe(`coopctl upgrade of mastodon/alpha: 4.4.7 → 4.4.8 (record ${doc.record.id})`);
    expect(silence.createdBy).toBe(doc.record.operator);
    expect(silence.matchers.map((m) => `${m.name}=${m.value}`).sort()).toEqual(['env=alpha', 'service=mastodon']);
    expect(silence.state).toBe('expired');
    expect(await active()).toEqual([]);
    expect(doc.warnings).toBeUndefined();
  }, 600_000);

  it('a failed upgrade, rolled back, leaves no silence either', async () => {
    expect((await sb.fault('alpha', 'migration-fails')).code).toBe(0);
    let run;
    try {
      run = await upgradeWatched('4.5.0');
    } finally {
      await sb.fault('--clear', 'alpha');
    }
    expect(run.r.exitCode, String(run.r.stderr)).toBe(1);
    expect(run.doc.record.status).toBe('rolled-back');
    const silences = await silencesOf(run.doc.record.id);
    expect(silences.map((s) => [run.seen.has(s.id), s.state])).toEqual([[true, 'expired']]);
    expect(await active()).toEqual([]);
  }, 600_000);

  it('Ctrl-C (SIGINT) during the playbook: cancelled, exit 130, and the silence is ended', async () => {
    const { r, doc, seen } = await upgradeWatched('4.5.0', (run, home) => {
      void waitFor(
        'the playbook to start a task',
        () => applyEvents(home).some((e) => e.event === 'task_start'),
        120_000,
      )
        .then(() => run.kill('SIGINT'))
        .catch(() => run.kill('SIGKILL'));
    });
    expect(r.exitCode, String(r.stderr)).toBe(130);
    expect(doc.record.status).toBe('cancelled');
    const silences = await silencesOf(doc.record.id);
    expect(silences.map((s) => [seen.has(s.id), s.state])).toEqual([[true, 'expired']]);
    expect(await active()).toEqual([]);
  }, 600_000);

  it('with Alertmanager down the upgrade still succeeds (exit 0), with a warning', async () => {
    await am.stop();
    const r = await coopctl(['-c', config, 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.0', '--yes'], {
      env: sb.env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/### coopctl upgrade mastodon\/alpha: 4\.4\.8 → 4\.5\.0 — succeeded/);
    expect(r.stdout).toMatch(
      /- warning: the alerts of mastodon\/alpha were not silenced in Alertmanager \(http:\/\/127\.0\.0\.1:\d+\): .*connection refused/,
    );
    expect(r.stderr).toMatch(/the alerts of mastodon\/alpha were not silenced/);
  }, 600_000);
});
