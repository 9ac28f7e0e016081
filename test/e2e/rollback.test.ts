import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { type ChangeDoc, SandboxMastodon, setHealthTimeout } from '../helpers/upgradeSandbox.js';

/**
 * `coopctl rollback` end to end: alpha is upgraded 4.4.7 → 4.4.8 → 4.5.0
 * (whose post-deployment migration moves the schema), then rolled back to
 * 4.4.8 with the database of before 4.5.0, through the same pipeline.
 */
let sb: TestSandbox;
let alpha: SandboxMastodon;
let upgradeTo450: ChangeDoc;
let migrationsAt448: string[];

beforeAll(async () => {
  sb = await startSandbox();
  setHealthTimeout(sb, '6s');
  alpha = new SandboxMastodon(sb, 'alpha');
  for (const to of ['4.4.8', '4.5.0']) {
    const r = await sb.run(['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', to, '--yes', '--no-check']);
    if (r.code !== 0) throw new Error(`upgrade to ${to} failed:\n${r.stderr}`);
    upgradeTo450 = json<ChangeDoc>(r);
    if (to === '4.4.8') migrationsAt448 = alpha.migrations();
  }
});

afterAll(async () => {
  await sb?.down();
});

describe('coopctl rollback mastodon', () => {
  it('without --restore-db or --keep-db, nobody at a terminal: exit 2 naming both, nothing changed', async () => {
    const r = await sb.run(['rollback', 'mastodon', '--env', 'alpha', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--restore-db or --keep-db');
    expect(await alpha.running()).toEqual({ version: '4.5.0', healthy: true });
  });

  it('--dry-run plans the way back: 4.5.0 → 4.4.8, the pre-upgrade backup, the stages that would run', async () => {
    const r = await sb.run(['--json', 'rollback', 'mastodon', '--env', 'alpha', '--restore-db', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({
      ok: true,
      dryRun: true,
      plan: {
        from: '4.5.0',
        to: '4.4.8',
        restores: upgradeTo450.record.backupId,
        record: { restoreDb: true, undoes: upgradeTo450.record.id },
      },
    });
    expect(r.stderr).toContain('Plan: roll back mastodon/alpha on alpha: 4.5.0 → 4.4.8');
    expect(r.stderr).toMatch(/\* Restore the database of \S+, then swap/);
    expect(r.stderr).toMatch(/\* Run the playbook with 4\.4\.8/);
  });

  it('--restore-db: 4.4.8 runs again on the database of before 4.5.0, recorded as a rollback', async () => {
    expect(alpha.migrations().length).toBeGreaterThan(migrationsAt448.length);
    const r = await sb.run(['--json', 'rollback', 'mastodon', '--env', 'alpha', '--restore-db', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const doc = json<ChangeDoc>(r);
    expect(doc.record).toMatchObject({ operation: 'rollback', status: 'succeeded', from: '4.5.0', to: '4.4.8' });
    expect(doc.record.details).toMatchObject({
      undoes: upgradeTo450.record.id,
      restoredDatabaseFrom: upgradeTo450.record.backupId,
      verification: { ok: true, reportedVersion: '4.4.8' },
    });
    expect(await alpha.running()).toEqual({ version: '4.4.8', healthy: true });
    expect(alpha.migrations()).toEqual(migrationsAt448);
    expect(alpha.record(doc.record.id).transitions.map((t) => t.status)).toEqual(['pending', 'succeeded']);
  });

  it('no pre-change backup and a newer schema: old code is never put on it without --keep-db (exit 2)', async () => {
    const first = alpha.records().find((r) => r.operation === 'upgrade' && r.to === '4.4.8')!;
    rmSync(path.join(sb.dir, 'backups', 'mastodon', 'alpha', first.backupId!), { recursive: true, force: true });
    const r = await sb.run(['rollback', 'mastodon', '--env', 'alpha', '--to', '4.4.7', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--keep-db');
    expect(await alpha.running()).toEqual({ version: '4.4.8', healthy: true });
  });
});
