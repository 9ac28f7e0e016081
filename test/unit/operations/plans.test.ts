import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../../src/backup/manifest.js';
import type { InventoryHost } from '../../../src/config/inventory.js';
import type { ServiceConfig } from '../../../src/config/schema.js';
import { foldRecord, type HistoryRecord } from '../../../src/history/records.js';
import { choosePromotion, planPromote } from '../../../src/operations/promote.js';
import { planRestore } from '../../../src/operations/restore.js';
import { chooseRollback, planRollback } from '../../../src/operations/rollback.js';
import { planUpgrade } from '../../../src/operations/upgrade.js';
import { planDocument, type ChangePlan } from '../../../src/pipeline/change.js';
import type { TargetView } from '../../../src/pipeline/view.js';
import type { RemoteHost } from '../../../src/remote/ssh.js';
import type { VersionChoice } from '../../../src/targets/profile.js';
import type { Target } from '../../../src/targets/target.js';
import { fakeService } from '../pipeline/fakeService.js';

/**
 * The four changes planned from fixed views, with no I/O: any read of a host, a store or a version source throws.
 * What --dry-run --json prints is planDocument's one shape (README: "The plan as JSON").
 */
const noIo = (what: string) => () => {
  throw new Error(`planning did I/O: ${what}`);
};
const remote = new Proxy({}, { get: (_o, key) => noIo(`remote.${String(key)}`) }) as RemoteHost;
const { driver, profile } = fakeService({ failDeploy: new Set(), unhealthy: new Set() }, '/nonexistent');

function targetOf(env: string): Target {
  const serviceConfig = { driver: 'shell', restoreOnFailure: 'auto', environments: {} } as unknown as ServiceConfig;
  return {
    service: 'bot',
    env,
    host: { name: `${env}-host` } as InventoryHost,
    remote,
    paths: { stateDir: '/s', tmpDir: '/tmp', dataDir: '/srv/bot', mdstat: '', rebootRequired: '', backupDir: '/b' },
    serviceConfig,
    envConfig: { inventory: 'inventory.yml', host: `${env}-host` } as Target['envConfig'],
    driver,
    profile,
    volumes: [],
  };
}

function record(operation: string, from: string, to: string, at: string, backupId?: string): HistoryRecord {
  const id = `${at.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${operation}-abcdef`;
  const fields = { service: 'bot', operation, operator: 'ana', from, to, ...(backupId && { backupId }) };
  return foldRecord(id, [
    { at, status: 'pending', fields },
    { at, status: 'succeeded' },
  ])!;
}

/** A view whose every fact is given: what a run would have read of the target. */
function fixedView(env: string, current: string, records: HistoryRecord[], backups: Manifest[] = []): TargetView {
  const target = targetOf(env);
  const choice: VersionChoice = {
    current,
    catalog: { versions: [], warnings: [] },
    suggestions: [{ version: '1.1.0', allowed: true, reason: 'next minor', prerelease: false, security: false }],
  };
  return {
    target,
    facts: {
      dbSizeBytes: noIo('database size'),
      volumeBytes: noIo('volume sizes'),
      postgresVersion: noIo('PostgreSQL version'),
      runningVersion: async () => current,
    },
    backups: { describe: () => 'data + schema files', create: noIo('backup'), restore: noIo('restore') },
    history: async () => ({ records, hostNow: new Date('2026-12-01T12:00:00Z') }),
    current: async () => ({ version: current }),
    health: async () => ({ healthy: true, latencyMs: 12 }),
    versionChoice: async () => choice,
    review: async (_c, to) => ({
      notes: [{ version: to, security: false, text: `what ${to} brings` }],
      findings: [{ id: 'rules', level: 'ok' as const, message: `${current} → ${to} is allowed` }],
    }),
    patches: () => null,
    recordedPatches: () => null,
    backup: async (id) => backups.find((b) => b.id === id),
    schema: async () => ({ count: 2, newest: '1.1.0' }),
    schemaFit: async () => undefined,
  };
}

const manifest = (id: string, version: string) => ({ id, version, createdAt: '2026-11-30T10:00:00Z' }) as Manifest;
const upgraded = record('upgrade', '1.0.0', '1.1.0', '2026-11-30T10:00:00.000Z', 'backup-1.0.0-1');

async function allFour(): Promise<Record<ChangePlan['operation'], ChangePlan>> {
  const prod = fixedView('prod', '1.0.0', []);
  const alpha = fixedView('alpha', '1.1.0', [upgraded], [manifest('backup-1.0.0-1', '1.0.0')]);
  const promotion = await choosePromotion(alpha, prod, { soakMs: 3_600_000, rejected: new Map() });
  return {
    upgrade: await planUpgrade(prod, await prod.versionChoice(false), '1.1.0', false),
    rollback: planRollback(alpha, await chooseRollback(alpha, undefined), true),
    restore: await planRestore(prod, manifest('backup-1.0.0-2', '1.0.0')),
    promote: await planPromote(prod, alpha, promotion),
  };
}

describe('a plan is data: the four changes from fixed views, one --dry-run --json shape', () => {
  it('each is built with no I/O, and its document survives JSON as it is', async () => {
    for (const plan of Object.values(await allFour())) {
      const doc = planDocument(plan);
      expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
    }
  });

  it('all four have the same keys, in the same order', async () => {
    const keys = Object.values(await allFour()).map((p) => Object.keys(planDocument(p)));
    expect(keys[0]).toEqual([
      'operation',
      'service',
      'env',
      'host',
      'from',
      'to',
      'notes',
      'findings',
      'steps',
      'restores',
      'patches',
      'restoreOnFailure',
      'record',
    ]);
    for (const k of keys) expect(k).toEqual(keys[0]);
  });

  it('says what each one does: its versions, its steps, the backup it puts back, its record', async () => {
    const plans = await allFour();
    const doc = (op: ChangePlan['operation']) => planDocument(plans[op]);
    const steps = (op: ChangePlan['operation']) => doc(op).steps.map((s) => `${s.mutates ? '*' : ' '}${s.id}`);
    expect(doc('upgrade')).toMatchObject({ operation: 'upgrade', env: 'prod', from: '1.0.0', to: '1.1.0' });
    expect(doc('upgrade').notes).toEqual([
      { version: '1.1.0', date: null, security: false, url: null, text: 'what 1.1.0 brings' },
    ]);
    expect(steps('upgrade')).toEqual([' preflight', '*lock', ' backup', '*apply', ' verify', '*record']);
    expect(doc('upgrade').steps.find((s) => s.id === 'apply')?.title).toBe('Install 1.1.0');
    expect(doc('upgrade').restores).toBeNull();

    expect(doc('rollback')).toMatchObject({
      from: '1.1.0',
      to: '1.0.0',
      restores: 'backup-1.0.0-1',
      record: { undoes: upgraded.id, restoreDb: true },
    });
    expect(steps('rollback')).toEqual([
      ' preflight',
      '*lock',
      ' backup',
      '*restore-db',
      '*apply',
      ' verify',
      '*record',
    ]);

    expect(doc('restore')).toMatchObject({ from: '1.0.0', to: '1.0.0', restores: 'backup-1.0.0-2' });
    expect(doc('restore').record).toMatchObject({ restoredBackup: 'backup-1.0.0-2' });

    expect(doc('promote')).toMatchObject({ operation: 'promote', env: 'prod', from: '1.0.0', to: '1.1.0' });
    expect(doc('promote').record).toMatchObject({ promotedFrom: upgraded.id, promotion: { from: 'alpha' } });
    expect(doc('promote').findings[0]).toMatchObject({ id: 'promotion', level: 'ok' });
  });
});
