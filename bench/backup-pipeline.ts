// Backup pipeline benchmark (issue 3), ratios measured in the same run:
//  - createBackup wall time and output size vs `ssh HOST pg_dump -Fc DB > /dev/null` over the same sshd
//    (target ≤ 0.5×, output no larger);
//  - coopctl's peak RSS backing up ~100 MiB vs ~1 GiB (target ≤ 150 MB, ≤ 1.2× growth);
//  - verify (stream back + sha256) vs a plain download + sha256sum from the same S3 server (target ≤ 1.2×).
// Sizes: BENCH_DB_MB (default 1024), BENCH_SMALL_MB (default 100); RUNS (default 1) interleaved runs, median;
// compression: BENCH_ZSTD_LEVEL (default 1, the library's), on the host. Every backup is taken on the host (the
// on-host copy, then age there): to a local store the ciphertext is relayed through this process.
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPgHost, type PgHost } from '../test/helpers/pgHost.js';
import { startS3, type S3Server } from '../test/helpers/s3.js';
import { median, printTable } from './table.js';

const BIG = Number(process.env.BENCH_DB_MB ?? 1024);
const SMALL = Number(process.env.BENCH_SMALL_MB ?? 100);
const RUNS = Math.max(1, Number(process.env.RUNS ?? 1));
const root = path.resolve(import.meta.dirname, '..');

interface ChildResult {
  ms: number;
  maxRssMB: number;
  size?: number;
  id?: string;
  ok?: boolean;
  sha256?: string;
}

/** Async: s3rver runs in this process and must keep serving while the child works. */
async function child(spec: Record<string, unknown>): Promise<ChildResult> {
  const r = await execa(
    process.execPath,
    [path.join(import.meta.dirname, 'backup-lib', 'child.mjs'), JSON.stringify(spec)],
    {
      reject: false,
      env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    },
  );
  if (r.exitCode !== 0) throw new Error(`child ${String(spec.op)} failed (${r.exitCode}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildResult;
}

/** A Mastodon-like statuses table (text with some entropy, an index) of about `mb` MiB. */
function seed(h: PgHost, db: string, mb: number): number {
  h.psql(`CREATE DATABASE ${db}`);
  h.psql(
    `CREATE TABLE statuses (id bigserial PRIMARY KEY, account_id bigint, text text, created_at timestamptz DEFAULT now());
     INSERT INTO statuses (account_id, text)
       SELECT i % 10000, 'Toot ' || i || ' ' || md5(i::text) || ' about co-operatives and the fediverse ' || md5((i * 7)::text) || repeat(' social.coop', i % 7)
       FROM generate_series(1, ${Math.round(mb * 4400)}) i;
     CREATE INDEX ON statuses (account_id);`,
    db,
  );
  return Number(h.psql(`SELECT pg_database_size('${db}')`).trim());
}

function timed<T>(fn: () => T): { ms: number; value: T } {
  const t = process.hrtime.bigint();
  const value = fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

let h: PgHost | undefined;
let s3: S3Server | undefined;
const work = mkdtempSync(path.join(os.tmpdir(), 'coopctl-bench-'));
try {
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'ignore',
  });
  [h, s3] = await Promise.all([startPgHost('bench'), startS3()]);
  const host = h;
  console.log(`\nbackup pipeline: generating databases of ~${SMALL} MiB and ~${BIG} MiB ...`);
  const smallSize = seed(host, 'bench_small', SMALL);
  const bigSize = seed(host, 'bench_big', BIG);
  execFileSync('age-keygen', ['-o', path.join(work, 'key.txt')], { stdio: 'ignore' });
  const recipient = /public key: (age1\w+)/.exec(readFileSync(path.join(work, 'key.txt'), 'utf8'))![1];
  const compression = { level: Number(process.env.BENCH_ZSTD_LEVEL ?? 1) };
  const conn = {
    ssh: { knownHostsFile: host.knownHosts, identityFile: host.identityFile },
    target: host.target,
    recipient,
    compression,
    // The on-host copies (one kept) and the history a backup reads to prune them: on the bench host.
    onHost: { dir: path.join(work, 'on-host'), stateDir: path.join(work, 'state') },
  };
  const local = (name: string) => ({ type: 'local', dir: path.join(work, name) });
  const s3Settings = s3.settings({ maxAttempts: 3, connectTimeoutMs: 10_000 });

  const sshArgs = [
    '-p',
    String(host.target.port),
    '-i',
    host.identityFile,
    '-o',
    `UserKnownHostsFile=${host.knownHosts}`,
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
  ];
  const baseline = () =>
    timed(() =>
      Number(
        execFileSync('bash', [
          '-c',
          'set -o pipefail; ssh "$@" | wc -c',
          'ssh',
          ...sshArgs,
          `${host.target.user}@127.0.0.1`,
          'pg_dump',
          '-Fc',
          'bench_big',
        ])
          .toString()
          .trim(),
      ),
    );
  baseline(); // warm the page cache for both sides

  const base: { ms: number; value: number }[] = [];
  const ours: ChildResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    base.push(baseline());
    ours.push(await child({ ...conn, op: 'create', db: 'bench_big', store: local(`big${i}`) }));
  }
  const small = await child({ ...conn, op: 'create', db: 'bench_small', store: local('small') });
  const baseMs = median(base.map((b) => b.ms));
  const oursMs = median(ours.map((o) => o.ms));
  const bigRss = Math.max(...ours.map((o) => o.maxRssMB));

  const onS3 = await child({ ...conn, op: 'create', db: 'bench_big', store: { type: 's3', settings: s3Settings } });
  const key = `${s3Settings.prefix}mastodon/bench/${onS3.id}/db.dump.zst.age`;
  const verifies: ChildResult[] = [];
  const downloads: ChildResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    downloads.push(
      await child({ ...conn, op: 'download-sha256sum', key, store: { type: 's3', settings: s3Settings } }),
    );
    verifies.push(await child({ ...conn, op: 'verify', id: onS3.id, store: { type: 's3', settings: s3Settings } }));
  }
  const deep = await child({
    ...conn,
    op: 'verify',
    id: onS3.id,
    store: { type: 's3', settings: s3Settings },
    identityFile: path.join(work, 'key.txt'),
  });
  const dlMs = median(downloads.map((d) => d.ms));
  const vMs = median(verifies.map((v) => v.ms));

  const ok = (good: boolean) => (good ? 'ok' : 'MISSED');
  const rows: string[][] = [
    ['measure', 'baseline', 'coopctl', 'ratio (target)'],
    [
      `backup wall, ${mib(bigSize)} db`,
      `${(baseMs / 1000).toFixed(2)} s`,
      `${(oursMs / 1000).toFixed(2)} s`,
      `${(oursMs / baseMs).toFixed(2)}× (≤ 0.5×: ${ok(oursMs / baseMs <= 0.5)})`,
    ],
    [
      'backup output size',
      mib(base[0].value),
      mib(ours[0].size!),
      `${(ours[0].size! / base[0].value).toFixed(2)}× (≤ 1×: ${ok(ours[0].size! <= base[0].value)})`,
    ],
    [
      `peak RSS ${mib(smallSize)} → ${mib(bigSize)}`,
      `${small.maxRssMB.toFixed(0)} MB`,
      `${bigRss.toFixed(0)} MB`,
      `${(bigRss / small.maxRssMB).toFixed(2)}× (≤ 1.2×: ${ok(bigRss / small.maxRssMB <= 1.2)}; ≤ 150 MB: ${ok(bigRss <= 150)})`,
    ],
    [
      `verify vs download+sha256sum (s3, ${mib(onS3.size!)})`,
      `${(dlMs / 1000).toFixed(2)} s`,
      `${(vMs / 1000).toFixed(2)} s`,
      `${(vMs / dlMs).toFixed(2)}× (≤ 1.2×: ${ok(vMs / dlMs <= 1.2)})`,
    ],
    [
      '(info) backup to s3 (uploaded by the host): wall, peak RSS',
      '',
      `${(onS3.ms / 1000).toFixed(2)} s, ${onS3.maxRssMB.toFixed(0)} MB`,
      '',
    ],
    [
      '(info) verify + decrypt + pg_restore --list',
      `${(dlMs / 1000).toFixed(2)} s`,
      `${(deep.ms / 1000).toFixed(2)} s, ${deep.maxRssMB.toFixed(0)} MB`,
      `${(deep.ms / dlMs).toFixed(2)}×`,
    ],
  ];
  printTable(
    `backup pipeline (${RUNS} run${RUNS > 1 ? 's, median' : ''}; zstd -${compression.level} on the host; baseline: ssh HOST pg_dump -Fc DB > /dev/null)`,
    rows,
  );
} finally {
  await Promise.all([h?.stop(), s3?.destroy()]);
  rmSync(work, { recursive: true, force: true });
}
