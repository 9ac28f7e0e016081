import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
      expect(backupSessions().length).toBeGreaterThan(0); // the dump runs on the host
      run.kill('SIGINT');
      const r = await run;
      expect(r.exitCode, r.stderr).toBe(130);
      expect(r.stderr).toContain('SIGINT: stopping safely');
    } finally {
      await sb.fault('--clear', 'alpha');
    }
    expect(filesUnder(localStore())).toEqual(before);
    expect(backupSessions()).toEqual([]);
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
      const r = await run;
      expect(r.exitCode, r.stderr).toBe(130);
    } finally {
      await sb.fault('--clear', 'alpha');
    }
    expect(s3Uploads()).toEqual([]);
    const objects = () => filesUnder(s3Dir()).filter((f) => !f.startsWith('._S3rver_uploads'));
    expect(objects()).toEqual(before.filter((f) => !f.startsWith('._S3rver_uploads')));
    expect(backupSessions()).toEqual([]);
  }, 120_000);
});
