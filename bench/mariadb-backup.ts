// MariaDB backup benchmark (issue 19), ratios measured in the same run, interleaved:
//  - the safety copy (takeHostCopy: mariadb-dump → zstd → the on-host copy, read back and checked; an upgrade's
//    stage time) vs `mariadb-dump --single-transaction ... > FILE` on the host over the same SSH connection
//    (the baseline; target ≤ 1.2×), and, for where the time goes, vs the same dump to /dev/null;
//  - the bytes that cross the SSH link (both ways, counted by a relay in front of sshd) during a whole backup to
//    an S3 store, which the host uploads itself (target < 1 MiB).
// The database: MediaWiki's tables (test/world/mariadbSchemas.ts) filled to BENCH_WIKI_MB (default 1024) MiB of
// data and indexes (the size coopctl's manifest records), revision texts of 1–8 KB of wikitext-like paragraphs
// (headings, links, templates, some entropy); RUNS (default 3).
// The server runs with MariaDB 10.11's own defaults for the buffer pool (128 MiB) and redo log (96 MiB), as the
// mariadb image runs it, not the sandbox's small settings.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createBackup } from '../src/backup/create.js';
import { takeHostCopy } from '../src/backup/createOnHost.js';
import { removeHostCopy } from '../src/backup/hostCopy.js';
import { mariadbInspectSql } from '../src/backup/mariadb.js';
import { mariadbSize } from '../src/backup/mariadbHost.js';
import { LocalStore } from '../src/backup/store/local.js';
import { S3Store } from '../src/backup/store/s3.js';
import type { RemoteHost } from '../src/remote/ssh.js';
import { type MariaDbHost, removeMariaDbHost, startMariaDbHost } from '../test/helpers/mariadbHost.js';
import { startS3, type S3Server } from '../test/helpers/s3.js';
import { mediawikiMariaDbSql } from '../test/world/mariadbSchemas.js';
import { median, printTable } from './table.js';

const WIKI_MB = Number(process.env.BENCH_WIKI_MB ?? 1024);
const RUNS = Math.max(1, Number(process.env.RUNS ?? 3));
const BATCH = 10_000;
const db = { name: 'mediawiki', user: 'root', engine: 'mariadb' as const };
const TABLES = ['page', 'revision', 'text', 'user'];

const PHRASES = [
  '== History ==\nThe co-operative was founded by its members, who each hold one share and one vote.',
  'Decisions are made in the Loomio group; proposals stay open for at least a week.',
  "'''Note:''' the Tech Working Group reviews every change to the servers before it is deployed.",
  '* Backups are taken before each upgrade and restore-tested every week.',
  'Members pay what they can; the finance working group publishes the budget each quarter.',
  '{{Infobox working group|name=Community|chair=rotating|meets=monthly}}',
  'The code of conduct applies to every space the co-operative runs, online or offline.',
  '=== Joining ===\nNew members are welcomed by the community working group within two days.',
  'Federation with other instances is open by default; a block needs a proposal and a vote.',
  '<ref>Minutes of the general meeting, see the archive.</ref> The bylaws were amended accordingly.',
  'Moderation reports are answered by the on-call moderator; the rota is on the Moderation page.',
  '| Tuesday || 18:00 UTC || Tech Working Group call || notes on the wiki',
];
const LINKS = ['Main_Page', 'Code_of_Conduct', 'Tech_Working_Group', 'Operations_Runbook', 'Bylaws', 'Finance'];
const lit = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;

/** Revision texts [from, to]: 8–60 paragraphs each (about 1–8 KB), a phrase, a link and a bit of entropy each. */
function textBatchSql(from: number, to: number): string {
  const para = `concat(elt(1 + (r.seq * 7 + p.seq * 13) % ${PHRASES.length}, ${PHRASES.map(lit).join(', ')}),
    ' See [[', elt(1 + (r.seq + p.seq * 5) % ${LINKS.length}, ${LINKS.map(lit).join(', ')}), ']] (',
    md5(r.seq * 64 + p.seq), ' ', left(sha1(r.seq * 64 + p.seq), 4 + p.seq % 12), ').')`;
  return `SET SESSION group_concat_max_len = 1048576;
INSERT INTO text (old_id, old_text, old_flags)
SELECT r.seq, group_concat(${para} ORDER BY p.seq SEPARATOR '\\n\\n'), 'utf-8'
  FROM seq_${from}_to_${to} r JOIN seq_1_to_60 p ON p.seq <= 8 + (r.seq * 37) % 53 GROUP BY r.seq;
SELECT sum(length(old_text)) FROM text WHERE old_id BETWEEN ${from} AND ${to};
`;
}

/** Ten revisions a page, each revision its own text row, edited by one of the wiki's users. */
function pagesSql(texts: number): string {
  const pages = Math.ceil(texts / 10);
  return `INSERT INTO revision (rev_id, rev_page, rev_actor, rev_timestamp, rev_len, rev_sha1)
SELECT t.old_id, 1 + (t.old_id - 1) DIV 10, 1 + t.old_id % 3, date_format(now(), '%Y%m%d%H%i%s'),
  length(t.old_text), left(sha1(t.old_text), 31) FROM text t WHERE t.old_id <= ${texts};
INSERT INTO page (page_id, page_namespace, page_title, page_random, page_touched, page_latest, page_len,
  page_content_model)
SELECT s.seq, 0, concat('Bench_page_', s.seq), rand(s.seq), date_format(now(), '%Y%m%d%H%i%s'),
  least(s.seq * 10, ${texts}), 4000, 'wikitext' FROM seq_1_to_${pages} s;
`;
}

/** Fills until the database's size as coopctl reads it (data and indexes, as the manifest records) reaches `mb`. */
async function fill(h: MariaDbHost, mb: number): Promise<number> {
  // MariaDB 10.11's defaults (both dynamic since 10.9/10.2): the world's servers run smaller ones
  h.sql('SET GLOBAL innodb_buffer_pool_size = 134217728; SET GLOBAL innodb_log_file_size = 100663296;');
  h.sql(mediawikiMariaDbSql('wiki.social.coop'), 'mediawiki');
  h.sql('DELETE FROM revision; DELETE FROM page; DELETE FROM text;', 'mediawiki');
  let bytes = 0;
  let size = 0;
  let last = 0;
  const started = Date.now();
  while (size < mb * 1048576) {
    bytes += Number(
      h
        .sql(textBatchSql(last + 1, last + BATCH), 'mediawiki')
        .split('\n')
        .at(-1),
    );
    last += BATCH;
    // ANALYZE: information_schema's sizes are InnoDB's persistent statistics, recomputed in the background
    size = Number(
      h
        .sql(`ANALYZE TABLE text; ${mariadbInspectSql('mediawiki')}`, 'mediawiki')
        .split('\n')
        .find((l) => l.startsWith('size\t'))
        ?.slice(5),
    );
    process.stdout.write(
      `\r  ${(size / 1048576).toFixed(0)} MiB: ${(bytes / 1048576).toFixed(0)} MiB of text in ${last} revisions `,
    );
  }
  h.sql(pagesSql(last), 'mediawiki');
  h.sql('ANALYZE TABLE text, revision, page;', 'mediawiki');
  console.log(`in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return last;
}

/** A TCP relay in front of sshd that counts the bytes of every connection, both ways. */
async function countingRelay(port: number): Promise<{ port: number; bytes: () => number; close: () => void }> {
  let total = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    client.on('data', (b: Buffer) => (total += b.length));
    upstream.on('data', (b: Buffer) => (total += b.length));
    client.pipe(upstream).on('error', () => client.destroy());
    upstream.pipe(client).on('error', () => upstream.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: listening } = server.address() as net.AddressInfo;
  return { port: listening, bytes: () => total, close: () => server.close() };
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
const ok = (good: boolean) => (good ? 'ok' : 'MISSED');

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

// The baseline (the issue's): the dump coopctl takes (host/mariadb-client.sh's flags), to a file on the host; and,
// for where the time goes, the same dump to /dev/null (the dump's own speed, no write)
const dumpTo = (file: string) => [
  'bash',
  '-c',
  'MYSQL_PWD=$(cat -- "$MYSQL_ROOT_PASSWORD_FILE") exec mariadb-dump --user=root --single-transaction --routines ' +
    '--triggers --events --hex-blob --default-character-set=utf8mb4 -- mediawiki > "$1"',
  'bench',
  file,
];

async function dump(host: RemoteHost, file: string): Promise<void> {
  const r = await host.exec(dumpTo(file), { mutates: false, reject: false });
  if (r.exitCode !== 0) throw new Error(`mariadb-dump > ${file} failed: ${r.stderr}`);
}

let h: MariaDbHost | undefined;
let s3: S3Server | undefined;
const work = mkdtempSync(path.join(os.tmpdir(), 'coopctl-bench-mdb-'));
try {
  [h, s3] = await Promise.all([
    startMariaDbHost({ rootPassword: 'bench-root-pw', database: 'mediawiki', user: 'mediawiki', password: 'w' }),
    startS3(),
  ]);
  const host = h.host;
  console.log(`\nMariaDB backup: filling a MediaWiki database with ~${WIKI_MB} MiB of revision text ...`);
  const revisions = await fill(h, WIKI_MB);
  const size = await mariadbSize(host, db);
  execFileSync('age-keygen', ['-o', path.join(work, 'key.txt')], { stdio: 'ignore' });
  const recipient = /public key: (age1\w+)/.exec(readFileSync(path.join(work, 'key.txt'), 'utf8'))![1];
  const options = (on: RemoteHost, store: LocalStore | S3Store) => ({
    source: { service: 'wiki', env: 'bench', host: on, db, tables: TABLES, version: null },
    store,
    encryption: { recipients: [recipient] },
    coopctlVersion: 'bench',
    onHost: { dir: path.join(work, 'on-host'), keep: 1, history: { remote: on, stateDir: path.join(work, 'state') } },
  });
  const local = new LocalStore(path.join(work, 'store'));

  await dump(host, '/dev/null'); // warm the buffer pool and the page cache alike for all
  const dumpFile = path.join(work, 'mediawiki.sql');
  const toNull: number[] = [];
  const base: number[] = [];
  const copies: number[] = [];
  let copySize = 0;
  for (let i = 0; i < RUNS; i++) {
    toNull.push((await timed(() => dump(host, '/dev/null'))).ms);
    base.push((await timed(() => dump(host, dumpFile))).ms);
    rmSync(dumpFile, { force: true });
    const c = await timed(() => takeHostCopy(options(host, local)));
    copies.push(c.ms);
    copySize = c.value.size;
    await removeHostCopy(host, c.value.copy);
    console.log(
      `  run ${i + 1}: mariadb-dump > /dev/null ${secs(toNull[i])}, > a file ${secs(base[i])}, ` +
        `safety copy ${secs(c.ms)}`,
    );
  }

  const relay = await countingRelay(h.sshd.port);
  const s3Store = new S3Store(s3.settings({ maxAttempts: 3, connectTimeoutMs: 10_000 }));
  const viaRelay = h.via(relay.port);
  const offsite = await timed(() => createBackup(options(viaRelay, s3Store)));
  const linkBytes = relay.bytes();
  relay.close();
  s3Store.close();

  const baseMs = median(base);
  const nullMs = median(toNull);
  const copyMs = median(copies);
  const load = os.loadavg().map((l) => l.toFixed(1));
  const rows: string[][] = [
    ['measure', 'baseline', 'coopctl', 'ratio (target)'],
    [
      `safety copy, ${mib(size)} database (${revisions} revisions)`,
      secs(baseMs),
      secs(copyMs),
      `${(copyMs / baseMs).toFixed(2)}× (≤ 1.2×: ${ok(copyMs / baseMs <= 1.2)})`,
    ],
    [
      'bytes over the SSH link, backup to S3',
      '',
      `${(linkBytes / 1024).toFixed(1)} KiB`,
      `(< 1 MiB: ${ok(linkBytes < 1048576)})`,
    ],
    [
      '(info) the same against mariadb-dump > /dev/null (no write)',
      secs(nullMs),
      secs(copyMs),
      `${(copyMs / nullMs).toFixed(2)}×`,
    ],
    ['(info) the on-host copy (zstd of the dump)', '', mib(copySize), ''],
    ['(info) backup to S3, whole (copy, age, rclone on the host)', '', secs(offsite.ms), ''],
  ];
  printTable(
    `MariaDB backup (${RUNS} run${RUNS > 1 ? 's, median' : ''}; baseline: mariadb-dump --single-transaction ` +
      `... > a file on the host over SSH; load average at the end ${load.join(' ')})`,
    rows,
  );
} finally {
  await Promise.all([h && removeMariaDbHost(h), s3?.destroy()]);
  rmSync(work, { recursive: true, force: true });
}
