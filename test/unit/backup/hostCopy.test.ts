import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findHostCopy,
  hostCopyFile,
  pruneHostCopies,
  writeHostCopy,
  writeHostManifest,
} from '../../../src/backup/hostCopy.js';
import type { DbTarget } from '../../../src/backup/commands.js';
import { toShell, type RemoteCommand } from '../../../src/remote/quote.js';
import type { RemoteHost, StreamHandle } from '../../../src/remote/ssh.js';
import { LocalHost } from '../../helpers/localHost.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'coopctl-hostcopy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Stand-ins for pg_dump and pg_restore on this "host": a failure when a flag file says so. */
const bin = path.join(work, 'bin');
mkdirSync(bin);
const tool = (name: string, body: string) => {
  writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
  chmodSync(path.join(bin, name), 0o755);
};
tool(
  'pg_dump',
  `[ -e '${work}/fail-dump' ] && { echo 'pg_dump: error: connection refused' >&2; exit 1; }
printf '%s\\n' "$@" > '${work}/pg_dump.argv'
head -c 2000000 /dev/urandom`,
);
tool(
  'pg_restore',
  `cat >/dev/null; [ -e '${work}/fail-list' ] && { echo 'pg_restore: error: input file is too short' >&2; exit 1; }; exit 0`,
);

/** zstd itself, except that `zstd -t` finds the copy damaged when a flag file says so. */
tool(
  'zstd',
  `[ "$1" = -tq ] && [ -e '${work}/fail-test' ] && { echo "zstd: $3: Corrupted block detected" >&2; exit 1; }
exec ${execFileSync('sh', ['-c', 'command -v zstd'], { encoding: 'utf8' }).trim()} "$@"`,
);

/** LocalHost with stream(): the copy script reports while it works. */
async function stream(cmd: RemoteCommand): Promise<StreamHandle> {
  const child = spawn('sh', ['-c', toShell(cmd)], { env: { PATH: `${bin}:${process.env.PATH}`, HOME: work } });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdin.end('');
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { stdout: child.stdout, done, abort: () => child.kill() };
}

const local = new LocalHost();
const host: RemoteHost = {
  target: local.target,
  stallTimeoutMs: local.stallTimeoutMs,
  exec: (c, o) => local.exec(c, o),
  stream,
  close: async () => {},
};
const db: DbTarget = { name: 'mastodon_production', user: 'postgres' };
const base = path.join(work, "it's $(touch pwned) dir");
const copyOf = (id: string) => ({ base, service: 'mastodon', env: 'prod', id });
const copies = () => readdirSync(path.join(base, 'mastodon', 'prod')).sort();

async function take(id: string) {
  const progress: number[] = [];
  const w = await writeHostCopy(host, copyOf(id), {
    db,
    snapshot: '00000003-0000003B-1',
    level: 1,
    onBytes: (n) => progress.push(n),
  });
  return { ...w, progress };
}

const manifest = (id: string, w: { size: number; sha256: string }) => ({
  format: 1 as const,
  id,
  service: 'mastodon',
  env: 'prod',
  createdAt: new Date().toISOString(),
  file: 'db.dump.zst' as const,
  size: w.size,
  sha256: w.sha256,
  checks: ['size', 'sha256', 'zstd -t', 'pg_restore --list'],
  database: { name: db.name, size: 1, serverVersion: '15.4', rowCounts: { statuses: 3 } },
});

describe('the on-host copy (a real bash, stand-in pg_dump and pg_restore)', () => {
  it('writes zstd(pg_dump) root-only under a hostile directory name, hashed and checked there', async () => {
    const id = '20261129T100000Z-aaaaaa';
    const w = await take(id);
    const file = hostCopyFile(copyOf(id));
    expect(w.file).toBe(file);
    const bytes = readFileSync(file);
    expect(w).toMatchObject({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(statSync(base).mode & 0o777).toBe(0o700);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(path.join(work, 'pwned'))).toBe(false);
    expect(readdirSync(path.dirname(file))).toEqual(['db.dump.zst']);
    // the dump in the exported snapshot, its session named so that it can be ended
    expect(readFileSync(path.join(work, 'pg_dump.argv'), 'utf8').split('\n')).toEqual(
      expect.arrayContaining([
        '--snapshot=00000003-0000003B-1',
        `dbname=mastodon_production application_name=coopctl_backup_${id}`,
      ]),
    );
    // without a manifest it is no copy yet
    expect(await findHostCopy(host, copyOf(id))).toBeUndefined();
    await writeHostManifest(host, copyOf(id), manifest(id, w));
    expect(await findHostCopy(host, copyOf(id))).toMatchObject({ id, sha256: w.sha256 });
  });

  it('a backup directory that exists keeps its mode (/var/backups, 0755); what coopctl makes in it is 0700', async () => {
    const shared = path.join(work, 'var-backups');
    mkdirSync(shared, { mode: 0o755 });
    chmodSync(shared, 0o755);
    const w = await writeHostCopy(
      host,
      { ...copyOf('20250102T030405Z-b0b0b0'), base: shared },
      {
        db,
        snapshot: '00000003-0000003B-1',
        level: 1,
      },
    );
    expect(statSync(shared).mode & 0o777).toBe(0o755);
    for (const dir of ['mastodon', 'mastodon/prod', 'mastodon/prod/20250102T030405Z-b0b0b0'])
      expect(statSync(path.join(shared, dir)).mode & 0o777).toBe(0o700);
    expect(statSync(w.file).mode & 0o777).toBe(0o600);
  });

  it('a failed dump, a damaged copy, or a dump pg_restore refuses, leaves nothing of that copy', async () => {
    const before = copies();
    for (const [flag, code, said] of [
      ['fail-dump', 'dump-failed', 'pg_dump: error: connection refused'],
      ['fail-list', 'corrupt-dump', 'pg_restore --list refused the dump'],
      ['fail-test', 'corrupt-dump', 'zstd -t: the compressed dump is damaged'],
    ] as const) {
      writeFileSync(path.join(work, flag), '');
      try {
        const err = await take('20261129T110000Z-bbbbbb').catch((e: unknown) => e);
        expect(err).toMatchObject({ code, exitCode: 1 });
        expect((err as Error).message).toContain(said);
      } finally {
        rmSync(path.join(work, flag));
      }
      expect(copies()).toEqual(before);
    }
  });

  it('prunes to the newest complete copies, never one without its manifest', async () => {
    for (const id of ['20261129T120000Z-cccccc', '20261129T130000Z-dddddd']) {
      await writeHostManifest(host, copyOf(id), manifest(id, await take(id)));
    }
    await take('20261129T140000Z-eeeeee'); // no manifest: in the making, not counted, not removed
    const pruned = await pruneHostCopies(host, copyOf('20261129T130000Z-dddddd'), 2, new Map());
    expect(pruned.map((d) => path.basename(d))).toEqual(['20261129T100000Z-aaaaaa']);
    expect(copies()).toEqual(['20261129T120000Z-cccccc', '20261129T130000Z-dddddd', '20261129T140000Z-eeeeee']);
  });

  it('never prunes a copy a change uses, however old', async () => {
    for (const id of ['20261129T150000Z-ffffff', '20261129T160000Z-abcdef']) {
      await writeHostManifest(host, copyOf(id), manifest(id, await take(id)));
    }
    const inUse = new Map([['20261129T120000Z-cccccc', 'the pre-change backup of the newest succeeded change']]);
    const pruned = await pruneHostCopies(host, copyOf('20261129T160000Z-abcdef'), 1, inUse);
    expect(pruned.map((d) => path.basename(d))).toEqual(['20261129T150000Z-ffffff', '20261129T130000Z-dddddd']);
    expect(copies()).toEqual(['20261129T120000Z-cccccc', '20261129T140000Z-eeeeee', '20261129T160000Z-abcdef']);
  });
});
