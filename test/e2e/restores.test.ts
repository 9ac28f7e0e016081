import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { SandboxMastodon, setHealthTimeout } from '../helpers/upgradeSandbox.js';

/**
 * Failures that must not cost data or a needless redeploy, on the sandbox: a playbook that stops at its
 * assert changed nothing (exit 3, no recovery); a lookup the inventory needs a collection for is caught in
 * preflight.
 */
interface ChangeDoc {
  ok: boolean;
  state: string;
  record: { id: string; status: string; from: string; to: string; details: Record<string, unknown> };
}

let sb: TestSandbox;
let alpha: SandboxMastodon;

beforeAll(async () => {
  sb = await startSandbox();
  setHealthTimeout(sb, '6s');
  alpha = new SandboxMastodon(sb, 'alpha');
});

afterAll(async () => {
  await sb?.down();
});

const upgrade = (env: string, to: string) =>
  sb.run(['--json', 'upgrade', 'mastodon', '--env', env, '--to', to, '--yes', '--no-check']);

describe('failures that changed nothing', () => {
  it('a playbook stopped by its assert (a secret missing from the inventory): nothing changed, exit 3, no redeploy', async () => {
    const before = alpha.footprint();
    await sb.fault('alpha', 'secret-missing');
    let r;
    try {
      r = await upgrade('alpha', '4.4.8');
    } finally {
      await sb.fault('--clear', 'alpha');
    }
    expect(r.code, r.stderr).toBe(3);
    const doc = json<ChangeDoc>(r);
    expect(doc.state).toBe('nothing was changed: mastodon/alpha still runs 4.4.7');
    expect(doc.record).toMatchObject({ status: 'failed', from: '4.4.7', to: '4.4.8' });
    const rec = alpha.record(doc.record.id);
    expect(rec.transitions.map((t) => t.status)).toEqual(['pending', 'failed']);
    expect(rec.transitions.at(-1)!.note).toMatch(/^stopped before any change: .*lacks DB_PASS.*changed nothing/);
    expect(rec.details.ansible).toMatchObject({ changedNothing: true });
    // no recovery: neither a redeploy nor a restore ran
    expect(rec.details.recoveryDeploy).toBeUndefined();
    expect(rec.details.migrationsRan).toBeUndefined();
    expect(await alpha.running()).toEqual({ version: '4.4.7', healthy: true });
    const after = alpha.footprint();
    // the safety backup was taken (and its record written); nothing else on the host moved
    expect({ ...after, stateDir: null, backups: null }).toEqual({ ...before, stateDir: null, backups: null });
    expect(existsSync(alpha.lockDir)).toBe(false);
  });
});

describe('the collections the inventory needs', () => {
  it("preflight fails when the inventory's passwordstore lookup lacks community.general, naming file:line", async () => {
    const vars = path.join(sb.dir, 'inventories', 'group_vars', 'mastodon.yml');
    mkdirSync(path.dirname(vars), { recursive: true });
    writeFileSync(vars, "# as production's\nsmtp_password: \"{{ lookup('passwordstore', 'sandbox/smtp') }}\"\n");
    let r;
    try {
      r = await sb.run(['--json', 'preflight', 'mastodon', '--env', 'alpha']);
    } finally {
      rmSync(vars);
    }
    expect(r.code, r.stderr).toBe(3);
    const checks = json<{ checks: Array<{ id: string; status: string; message: string; fix: string }> }>(r).checks;
    expect(checks.find((c) => c.id === 'ansible-collections')).toEqual({
      id: 'ansible-collections',
      status: 'fail',
      message:
        'the inventory needs collections that are not installed: ' +
        "community.general (lookup 'passwordstore' at inventories/group_vars/mastodon.yml:2)",
      fix: 'ansible-galaxy collection install community.general',
    });
  });
});
