import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Leftover } from '../../src/backup/leftovers.js';
import { json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { SandboxMastodon, startCli, stderrSoFar, waitFor } from '../helpers/upgradeSandbox.js';

/**
 * What backups leave behind when they stop early, on a sandbox whose database container behaves as Docker's
 * does (a pg_dump started by `docker compose exec` outlives the SSH session) and whose object store lists and
 * aborts unfinished multipart uploads as Spaces does: Ctrl-C leaves nothing; what other runs left is listed
 * with its age and pruned by retention.
 */

let sb: TestSandbox;
let alpha: SandboxMastodon;

/** Sessions a backup or restore runs on the host's PostgreSQL (pg_dump, pg_restore, coopctl's own). */
function backupSessions(): string[] {
  return alpha
    .psql(
      "select application_name from pg_stat_activity where backend_type = 'client backend' " +
        "and pid <> pg_backend_pid() and (application_name in ('pg_dump', 'pg_restore') " +
        "or application_name like 'coopctl%')",
      'postgres',
    )
    .split('\n')
    .filter(Boolean);
}

function filesUnder(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : [];
}

const localStore = () => path.join(sb.dir, 'backups');

function s3Dir(): string {
  const state = JSON.parse(readFileSync(path.join(sb.dir, 'sandbox.json'), 'utf8')) as { s3: { bucket: string } };
  return path.join(sb.dir, 's3', 'data', state.s3.bucket);
}

/** Unfinished multipart uploads, as s3rver keeps them (one directory each). */
const s3Uploads = () => filesUnder(path.join(s3Dir(), '._S3rver_uploads')).filter((f) => !f.includes('/'));

beforeAll(async () => {
  sb = await startSandbox();
  alpha = new SandboxMastodon(sb, 'alpha');
  // About 40 MB of dump: with the dump-slow fault it takes ~10 s, long enough to be interrupted mid-way.
  alpha.psql(
    'create table ballast (b bytea); insert into ballast select decode(md5(random()::text) || ' +
      "md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') from generate_series(1, 300000)",
  );
  // Multipart from 5 MiB on (S3's smallest part), so an interrupted upload has parts to leave behind.
  const doc = parseDocument(readFileSync(sb.config, 'utf8'));
  doc.setIn(['backup', 'stores', 's3', 'partSize'], 5 * 1024 * 1024);
  writeFileSync(sb.config, doc.toString());
}, 600_000);

afterAll(async () => {
  await sb?.down();
});

describe('Ctrl-C during a backup command', () => {
  it('backup create to the local store: no .partial file, no dump left running on the host, exit 130', async () => {
    await sb.fault('alpha', 'dump-slow');
    const before = filesUnder(localStore());
    const run = startCli(sb, ['backup', 'create', 'mastodon', '--env', 'alpha', '--store', 'local']);
    try {
      await waitFor(
        'a .partial file with data',
        () =>
          filesUnder(localStore()).find(
            (f) => f.endsWith('.partial') && statSync(path.join(localStore(), f)).size > 1024 * 1024,
          ),
        60_000,
      );
      // The dump is over: the on-host copy's ciphertext is being relayed into the store.
      run.kill('SIGINT');
    } finally {
      await sb.fault('--clear', 'alpha');
    }
    const r = await run;
    expect(filesUnder(localStore())).toEqual(before);
    expect(backupSessions()).toEqual([]);
    expect(r.exitCode, r.stderr).toBe(130);
    expect(r.stderr).toContain('SIGINT: stopping safely');
  }, 120_000);

  it('backup create to S3: the multipart upload is aborted, no object, no dump left running, exit 130', async () => {
    await sb.fault('alpha', 'dump-slow');
    const before = filesUnder(s3Dir());
    const run = startCli(sb, ['backup', 'create', 'mastodon', '--env', 'alpha', '--store', 's3']);
    const stderr = stderrSoFar(run);
    try {
      await waitFor('a multipart upload to start', () => s3Uploads().length > 0, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}; the run said: ${stderr()}`);
      });
      run.kill('SIGINT');
    } finally {
      await sb.fault('--clear', 'alpha');
    }
    const r = await run;
    expect(s3Uploads()).toEqual([]);
    const objects = () => filesUnder(s3Dir()).filter((f) => !f.startsWith('._S3rver_uploads'));
    expect(objects()).toEqual(before.filter((f) => !f.startsWith('._S3rver_uploads')));
    expect(backupSessions()).toEqual([]);
    expect(r.exitCode, r.stderr).toBe(130);
  }, 120_000);

  it('backup verify: stops reading at once, records nothing, exit 130', async () => {
    const made = await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'alpha', '--store', 's3']);
    const m = json<{ id: string }>(made);
    await sb.fault('store', 'store-slow');
    const run = startCli(sb, ['backup', 'verify', m.id, '--store', 's3']);
    const stderr = stderrSoFar(run);
    try {
      await waitFor('the backup to be read back', () => /reading back \d/.test(stderr()), 60_000);
      run.kill('SIGINT');
    } finally {
      await sb.fault('--clear', 'store');
    }
    const started = Date.now();
    const r = await run;
    expect(Date.now() - started).toBeLessThan(3000); // not after reading the rest at 4 MiB/s
    const listed = json<{ backups: Array<{ id: string; verifications: unknown[] }> }>(
      await sb.run(['--json', 'backup', 'list', 'mastodon', '--env', 'alpha', '--store', 's3']),
    ).backups.find((b) => b.id === m.id);
    expect(listed?.verifications).toEqual([]);
    expect(r.exitCode, r.stderr).toBe(130);
  }, 120_000);

  it('backup restore --into scratch: the scratch database is dropped, no pg_restore left running, exit 130', async () => {
    const m = json<{ id: string }>(await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'alpha']));
    const scratch = () =>
      alpha
        .psql("select datname from pg_database where datname like 'coopctl_scratch_%'", 'postgres')
        .split('\n')
        .filter(Boolean);
    const run = startCli(sb, ['backup', 'restore', m.id, '--into', 'scratch']);
    await waitFor('pg_restore to fill the scratch database', () => backupSessions().includes('pg_restore'), 60_000, 20);
    expect(scratch()).toHaveLength(1);
    run.kill('SIGINT');
    const r = await run;
    expect(scratch()).toEqual([]);
    expect(backupSessions()).toEqual([]);
    expect(r.exitCode, r.stderr).toBe(130);
  }, 120_000);
});

/** A leftover as `backup leftovers --json` prints it. */
type LeftoverDoc = Omit<Leftover, 'remove'> & { prune: boolean; reason: string };

const partials = () => filesUnder(path.join(localStore(), 'mastodon', 'alpha')).filter((f) => f.endsWith('.partial'));

function replacedDatabases(): string[] {
  return alpha
    .psql("select datname from pg_database where datname like 'mastodon_production_before_%'", 'postgres')
    .split('\n')
    .filter(Boolean);
}

/**
 * `backup create` SIGKILLed mid-dump (a crash, a closed laptop): it cleans up nothing. To S3 the upload runs on the
 * host, which stops it (and aborts it) when coopctl goes away; an upload is left when the host's uploader itself is
 * killed (the host crashes): `crash` does that first.
 */
async function killedBackup(store: 'local' | 's3', started: () => boolean, crash?: () => void) {
  await sb.fault('alpha', 'dump-slow');
  const run = startCli(sb, ['backup', 'create', 'mastodon', '--env', 'alpha', '--store', store]);
  try {
    await waitFor(`a ${store} backup under way`, started, 60_000);
    crash?.();
    run.kill('SIGKILL');
    await run;
  } finally {
    await sb.fault('--clear', 'alpha');
  }
}

/** SIGKILLs the host's rclone uploading this sandbox's alpha backup, as a host crash would (it aborts nothing). */
function killHostUpload(): void {
  const state = JSON.parse(readFileSync(path.join(sb.dir, 'sandbox.json'), 'utf8')) as { s3: { hostEndpoint: string } };
  const endpoint = `RCLONE_CONFIG_COOPCTL_ENDPOINT=${state.s3.hostEndpoint}`;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (argv[0].endsWith('rclone') && argv.includes('rcat') && env.includes(endpoint))
        process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
}

function setLeftoverRetention(value: string): void {
  const doc = parseDocument(readFileSync(sb.config, 'utf8'));
  doc.setIn(['backup', 'retention', 'leftovers'], value);
  writeFileSync(sb.config, doc.toString());
}

describe('leftovers have an owner, an age, and a retention', () => {
  let restoreRecord: string;
  let partialBeforeLock: string;

  it('a real restore keeps the replaced database; killed backups leave a .partial file and an upload', async () => {
    const m = json<{ id: string }>(await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'alpha']));
    const backupDir = path.join(localStore(), 'mastodon', 'alpha', m.id);
    expect((statSync(backupDir).mode & 0o777).toString(8)).toBe('700');
    for (const f of readdirSync(backupDir))
      expect([f, (statSync(path.join(backupDir, f)).mode & 0o777).toString(8)]).toEqual([f, '600']);
    const restored = await sb.run(['--json', 'backup', 'restore', m.id, '--into', 'alpha', '--yes']);
    expect(restored.code, restored.stderr).toBe(0);
    restoreRecord = json<{ record: { id: string } }>(restored).record.id;
    expect(replacedDatabases()).toHaveLength(1);

    await killedBackup('local', () => partials().length > 0);
    partialBeforeLock = partials()[0];
    await killedBackup('s3', () => s3Uploads().length > 0, killHostUpload);
    expect(s3Uploads()).toHaveLength(1);

    const r = await sb.run(['--json', 'backup', 'leftovers', 'mastodon', '--env', 'alpha', '--store', 'local']);
    expect(r.code, r.stderr).toBe(0);
    const found = json<{ leftovers: LeftoverDoc[] }>(r).leftovers;
    const replaced = found.find((l) => l.kind === 'replaced-database');
    expect(replaced).toMatchObject({ name: replacedDatabases()[0], where: 'alpha', prune: false });
    expect(replaced?.owner).toBe(`restore ${restoreRecord}`);
    expect(replaced?.size).toBeGreaterThan(0);
    expect(Date.now() - Date.parse(replaced!.createdAt)).toBeLessThan(10 * 60_000);
    const partial = found.find((l) => l.kind === 'partial-file');
    expect(partial).toMatchObject({ prune: false, reason: 'within backup.retention.leftovers' });
    expect(partial?.owner).toMatch(/^pid \d+ on this machine$/);
    expect(partial?.inUse).toBeUndefined(); // its writer was killed

    const s3 = json<{ leftovers: LeftoverDoc[] }>(
      await sb.run(['--json', 'backup', 'leftovers', 'mastodon', '--env', 'alpha', '--store', 's3']),
    ).leftovers;
    expect(s3.filter((l) => l.kind === 'upload').map((l) => l.name)).toEqual([
      expect.stringMatching(/^mastodon\/alpha\/\d{8}T\d{6}Z-[0-9a-f]{6}\/db\.dump\.zst\.age$/),
    ]);

    const text = await sb.run(['backup', 'leftovers', 'mastodon', '--env', 'alpha']);
    expect(text.stdout).toMatch(/replaced-database +mastodon_production_before_\S+ +alpha +\S+ ago/);
  }, 300_000);

  it('prune removes what is older than backup.retention.leftovers, never what the lock holder made', async () => {
    const rows = alpha.rowCounts();
    setLeftoverRetention('0s');
    const home = { XDG_STATE_HOME: path.join(sb.dir, 'operator-state') }; // where the manual lock's id is kept
    const lock = await sb.run(['lock', 'acquire', 'mastodon', '--env', 'alpha', '-m', 'maintenance'], home);
    expect(lock.code, lock.stderr).toBe(0);
    try {
      // What coopctl keeps on the host is the operators' alone: the state dir, the lock, history and logs.
      const state = alpha.stateDir;
      const modes = filesUnder(state).map((f) => [f, (statSync(path.join(state, f)).mode & 0o777).toString(8)]);
      expect([['.', (statSync(state).mode & 0o777).toString(8)], ...modes]).toEqual([
        ['.', '700'],
        ...modes.map(([f]) => [f, statSync(path.join(state, f)).isDirectory() ? '700' : '600']),
      ]);
      expect(modes.map(([f]) => f)).toEqual(
        expect.arrayContaining([
          'history',
          'lock',
          'lock/info.json',
          'logs',
          expect.stringMatching(/^history\/.*\.jsonl$/),
        ]),
      );
      await killedBackup('local', () => partials().length > 1);
      const underLock = partials().find((f) => f !== partialBeforeLock)!;

      const dry = await sb.run(['--json', '--dry-run', '--yes', 'backup', 'prune', 'mastodon', '--env', 'alpha']);
      expect(dry.code, dry.stderr).toBe(0);
      const plan = json<{ leftovers: LeftoverDoc[]; removedLeftovers: string[] }>(dry);
      expect(plan.removedLeftovers).toEqual([]);
      expect(plan.leftovers.filter((l) => l.prune).map((l) => l.kind)).toEqual(['replaced-database', 'partial-file']);
      expect(plan.leftovers.find((l) => !l.prune)?.reason).toMatch(/^made under the lock held since /);
      expect(replacedDatabases()).toHaveLength(1);
      expect(partials()).toHaveLength(2);

      // prune rightly keeps a database someone is connected to: a session of the killed backup's pg_dump or of the
      // dry run above may still be closing (it happened once in CI); wait for it to go, so the verdict is prune's
      const sessions = () =>
        alpha
          .psql(
            "select count(*) from pg_stat_activity where datname like 'mastodon\\_production\\_before\\_%'",
            'postgres',
          )
          .trim();
      await waitFor('no session on the replaced database', () => sessions() === '0', 30_000, 200);
      const done = await sb.run(['--json', '--yes', 'backup', 'prune', 'mastodon', '--env', 'alpha']);
      expect(done.code, done.stderr).toBe(0);
      expect(replacedDatabases()).toEqual([]);
      expect(partials()).toEqual([underLock]);
      const s3 = await sb.run(['--json', '--yes', 'backup', 'prune', 'mastodon', '--env', 'alpha', '--store', 's3']);
      expect(s3.code, s3.stderr).toBe(0);
      expect(s3Uploads()).toEqual([]);
    } finally {
      await sb.run(['lock', 'release', 'mastodon', '--env', 'alpha'], home);
    }
    const after = await sb.run(['--json', '--yes', 'backup', 'prune', 'mastodon', '--env', 'alpha']);
    expect(after.code, after.stderr).toBe(0);
    expect(partials()).toEqual([]);
    expect(alpha.rowCounts()).toEqual(rows); // the live database untouched
  }, 300_000);
});
