import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assertLevel,
  createdbCommand,
  dropdbCommand,
  dumpOnlyArgv,
  psqlCommand,
  restoreCommand,
  restoreListCommand,
  type DbTarget,
} from '../../../src/backup/commands.js';
import { toShell } from '../../../src/remote/quote.js';

const onHost: DbTarget = { name: 'mastodon_production', user: 'postgres' };
const inContainer: DbTarget = { ...onHost, container: 'db', composeDir: '/opt/social.coop' };

describe('backup command builders', () => {
  it('dumps inside the database container the way production runs, in the snapshot, as a named session', () => {
    expect(dumpOnlyArgv(inContainer, '00000003-0000003B-1', 'coopctl_backup_x').join(' ')).toBe(
      'docker compose -f /opt/social.coop/docker-compose.yml --project-directory /opt/social.coop exec -T db ' +
        'pg_dump -U postgres -Fc -Z0 --snapshot=00000003-0000003B-1 dbname=mastodon_production application_name=coopctl_backup_x',
    );
  });

  it('refuses values that are not names before they reach a command line', () => {
    expect(() => dumpOnlyArgv({ ...onHost, name: 'x; rm -rf /' }, '00000003-0000003B-1', 'coopctl_backup_x')).toThrow(
      /not a PostgreSQL name/,
    );
    expect(() => dumpOnlyArgv(onHost, '1; id', 'coopctl_backup_x')).toThrow(/snapshot/);
    expect(() => assertLevel(42)).toThrow(/zstd level/);
    expect(() =>
      dumpOnlyArgv({ ...inContainer, composeDir: 'relative' }, '00000003-0000003B-1', 'coopctl_backup_x'),
    ).toThrow(/absolute/);
    expect(() => createdbCommand(onHost, 'Robert"); DROP')).toThrow(/not a PostgreSQL name/);
  });

  it('restores with decompression first and fails on the first pg_restore error', () => {
    expect(toShell(restoreCommand(onHost, 'scratch1', { privileges: false }))).toMatch(
      /^bash -c 'set -o pipefail 2>\/dev\/null; zstd -d -q -c \| pg_restore -U postgres --no-owner --no-privileges --exit-on-error -d /,
    );
    expect(toShell(restoreCommand(inContainer, 'restored', { privileges: true }))).toContain(
      'exec -T db pg_restore -U postgres --no-owner --role=postgres --exit-on-error -d ',
    );
  });

  it('restores in a session of its own settings: index builds get memory, commits do not wait for the flush', () => {
    // The line as the host's shell runs it, with a stand-in pg_restore that prints the argument of -d.
    const bin = mkdtempSync(path.join(os.tmpdir(), 'coopctl-restore-argv-'));
    try {
      const standin = path.join(bin, 'pg_restore');
      writeFileSync(standin, '#!/bin/sh\nwhile [ "$1" != -d ]; do shift; done\nprintf "%s\\n" "$2"\n');
      chmodSync(standin, 0o755);
      const r = spawnSync('sh', ['-c', toShell(restoreCommand(onHost, 'restored', { privileges: true }))], {
        input: execFileSync('zstd', ['-q', '-c'], { input: 'toc\n' }),
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      });
      expect(r.stderr.toString()).toBe('');
      expect(r.stdout.toString()).toBe(
        "dbname=restored options='-c maintenance_work_mem=256MB -c synchronous_commit=off'\n",
      );
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('drains the input after pg_restore --list so the pipeline does not die of a broken pipe', () => {
    // Stand-in for pg_restore --list: reads one line and stops, as pg_restore does after the TOC.
    const line = toShell(restoreListCommand(onHost)).replace(' pg_restore --list', ' head -n 1');
    const input = execFileSync('zstd', ['-q', '-c'], { input: `toc\n${'x'.repeat(4 * 1024 * 1024)}` });
    const r = spawnSync('sh', ['-c', line], { input });
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe('toc\n');
  });

  it('passes psql variables as arguments, the SQL itself comes on stdin', () => {
    expect(psqlCommand(onHost, 'postgres', { tables: 'accounts,statuses' })).toEqual([
      'psql',
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-At',
      '-F',
      '\t',
      '-v',
      'tables=accounts,statuses',
      '-U',
      'postgres',
      '-d',
      'postgres',
    ]);
    expect(dropdbCommand(inContainer, 'coopctl_scratch_1')).toEqual([
      'docker',
      'compose',
      '-f',
      '/opt/social.coop/docker-compose.yml',
      '--project-directory',
      '/opt/social.coop',
      'exec',
      '-T',
      'db',
      'dropdb',
      '-U',
      'postgres',
      '--if-exists',
      'coopctl_scratch_1',
    ]);
  });
});
