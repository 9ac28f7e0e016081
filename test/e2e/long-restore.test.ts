import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { coopctl, json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { SandboxMastodon, setHealthTimeout, startCli, waitFor, type ChangeDoc } from '../helpers/upgradeSandbox.js';

/**
 * Issue 18: long data commands are judged by their progress, not by ssh.commandTimeout. prod's database is filled
 * until restoring it takes longer than the 3 s commandTimeout of this sandbox's coopctl.yaml (a test copy); what
 * else coopctl runs on the host stays well within it.
 */
let sb: TestSandbox;
let prod: SandboxMastodon;
const COMMAND_TIMEOUT_S = 3;
const STALL_TIMEOUT_S = 10;

beforeAll(async () => {
  sb = await startSandbox();
  setHealthTimeout(sb, '6s');
  setSsh('commandTimeout', `${COMMAND_TIMEOUT_S}s`);
  prod = new SandboxMastodon(sb, 'prod');
  const fill = await coopctl(['sandbox', 'fill', '--dir', sb.dir, 'prod', '--size', '300MB'], { timeoutMs: 600_000 });
  expect(fill.code, fill.stderr).toBe(0);
}, 900_000);
function setSsh(key: string, value: string): void {
  const doc = parseDocument(readFileSync(sb.config, 'utf8'));
  doc.setIn(['ssh', key], value);
  writeFileSync(sb.config, doc.toString());
}

afterAll(async () => {
  await sb?.down();
});

const upgrade = ['upgrade', 'mastodon', '--env', 'prod', '--to', '4.5.0', '--yes', '--no-check'];
const RESTORE_STAGE = /^✓ Restoring \S+ from the copy on prod: .* \((?:(\d+)m)?([\d.]+)s\)$/m;
const restoredDatabases = () =>
  prod
    .psql("SELECT datname FROM pg_database WHERE datname LIKE 'mastodon\\_production\\_restored\\_%'")
    .split('\n')
    .filter(Boolean);
/**
 * `upgrade --to 4.5.0` while prod is unhealthy: its post-deployment migrations run, then it fails verification, and
 * 4.4.7 cannot run on that schema, so the database of before is restored. The fault is cleared once the recovery
 * starts. Resolves once it has, with the run (wrapped: a subprocess is a thenable).
 */
async function failingUpgrade(flags: string[] = []) {
  const earlier = new Set(prod.records().map((x) => x.id));
  await sb.fault('prod', 'health-fails');
  const run = startCli(sb, [...flags, ...upgrade], {}, { timeoutMs: 400_000 });
  try {
    await waitFor(
      'the recovery to start',
      () => prod.records().find((x) => !earlier.has(x.id) && x.details.failure !== undefined),
      300_000,
      250,
    );
  } catch (err) {
    run.kill('SIGKILL');
    throw err;
  } finally {
    await sb.fault('--clear', 'prod');
  }
  return { run };
}

/** Processes of this sandbox that name the database (pg_restore, the server's backends for it). */
const processesOn = (database: string) =>
  execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(database) && !l.includes(' ps -eo'));

describe('the automatic restore of a failed upgrade, on a database that takes longer than ssh.commandTimeout', () => {
  it('runs to its end while it makes progress: rolled-back, the data of before, the lock released', async () => {
    const rows = prod.rowCounts();
    const migrations = prod.migrations();
    const earlier = new Set(prod.records().map((x) => x.id));
    const r = await (await failingUpgrade()).run;
    const stderr = String(r.stderr);
    expect(r.exitCode, stderr).toBe(1);
    expect(prod.records().find((x) => !earlier.has(x.id))).toMatchObject({
      status: 'rolled-back',
      from: '4.4.7',
      to: '4.5.0',
    });
    expect(String(r.stdout)).toMatch(
      /\*\*State:\*\* restored: mastodon\/prod runs 4\.4\.7 again, verified healthy \(database restored/,
    );
    expect(stderr).toContain('from the on-host copy');
    const took = RESTORE_STAGE.exec(stderr);
    expect(took, stderr).not.toBeNull();
    // the restore outlasted the wall-clock limit every other command is held to
    expect(Number(took![1] ?? 0) * 60 + Number(took![2])).toBeGreaterThan(COMMAND_TIMEOUT_S);
    expect(prod.rowCounts()).toEqual(rows);
    expect(prod.migrations()).toEqual(migrations);
    expect(await prod.running()).toEqual({ version: '4.4.7', healthy: true });
    expect(existsSync(prod.lockDir)).toBe(false);
    expect(restoredDatabases()).toEqual([]);
  }, 400_000);

  it('is stopped once it makes no progress for ssh.stallTimeout (a lock it waits on), and nothing of it runs on', async () => {
    const earlier = new Set(prod.records().map((x) => x.id));
    setSsh('stallTimeout', `${STALL_TIMEOUT_S}s`);
    let holder: ChildProcess | undefined;
    const { run } = await failingUpgrade(['--json']);
    try {
      const database = await waitFor('the restore to create its database', () => restoredDatabases()[0], 120_000);
      // Another session holds statuses exclusively: pg_restore waits for it (its COPY, or the indexes and
      // constraints after the data), and nothing the server reports moves any more.
      holder = await waitFor(
        'a session to lock statuses in the restored database',
        () => lockStatuses(database),
        60_000,
        200,
      );
      const r = await run;
      expect(r.exitCode, String(r.stderr)).toBe(1);
      holder.kill();
      await new Promise((res) => holder!.once('close', res));
      const doc = json<ChangeDoc>({ code: 1, stdout: String(r.stdout), stderr: '' });
      expect(doc.record).toMatchObject({ status: 'failed', from: '4.4.7', to: '4.5.0' });
      expect(doc.state).toMatch(/^RESTORE FAILED \(.*no progress for \d+s \(ssh\.stallTimeout\)/);
      // a known version, the lock released (the pipeline's choice for a failed restore), nothing left running
      expect(doc.state).toContain('mastodon/prod reports 4.5.0');
      expect(existsSync(prod.lockDir)).toBe(false);
      expect(restoredDatabases()).toEqual([]);
      expect(processesOn(database)).toEqual([]);
      const rec = prod.records().find((x) => !earlier.has(x.id))!;
      expect(rec.transitions.at(-1)!.note).toContain('no progress for');
    } finally {
      holder?.kill();
    }
    expect((await prod.running()).version).toBe('4.5.0');
  }, 400_000);
});

/**
 * A psql session on `database` that holds `LOCK TABLE statuses IN ACCESS EXCLUSIVE MODE` in an open transaction;
 * undefined while statuses does not exist there yet.
 */
async function lockStatuses(database: string): Promise<ChildProcess | undefined> {
  const child = spawn('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', database], {
    env: { ...process.env, PGHOST: path.join(prod.root, 'pg', 'run'), PGUSER: 'postgres' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin!.write("BEGIN;\nLOCK TABLE statuses IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n");
  return new Promise((resolve) => {
    child.stdout!.on('data', (b: Buffer) => {
      if (b.toString().includes('locked')) resolve(child);
    });
    child.on('exit', () => resolve(undefined));
  });
}
