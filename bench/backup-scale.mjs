// Backups at scale (issue 9), on a sandbox with `--link home` whose prod database is filled to BENCH_DB_SIZE
// (default 2GiB; e.g. 300MB for a quick run), each figure the median of RUNS (default 3) interleaved runs:
//  - the safety backup (the on-host copy, checked) vs `pg_dump -Fc -Z0` to /dev/null on the host, over ssh: the
//    dump's own speed (≤ 1.1×); and vs `pg_dump -Fc` to a file on the host, what most scripts do (≤ 1.2×);
//  - `backup create --store s3` (on-host copy, then age | rclone from the host) vs the same baseline (≤ 1.5×);
//  - bytes over the operator's link per backup (≤ 1 MiB): the `-v` per-connection SSH counts, and the relay's
//    reads (/proc/PID/io), which also see coopctl's own S3 requests;
//  - the automatic restore from the on-host copy vs that backup's own time (≤ 1.5×), both from one failing upgrade's
//    stage timings (prod 4.4.7 → 4.5.0 with the `health-fails` fault: migrations ran, so the database is restored);
//  - coopctl's peak RSS during a backup (≤ 150 MB, S3 store included), from /usr/bin/time -v;
//  - the playbook under coopctl's Ansible settings vs Ansible's defaults (≤ 0.5×), ansible-tuning.mjs's code;
//  - for the record, today's laptop path: `backup create --store local`, the data through the operator.
// BENCH_RESTORE_ONLY=1 measures only the baselines, the safety copy and the restore (a 10 GiB run: RUNS=1 is allowed).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { measureAnsibleTuning } from './ansible-tuning.mjs';
import { median } from './lib.mjs';
import { bin, cli, withSandbox } from './sandbox.mjs';

const SIZE = process.env.BENCH_DB_SIZE ?? '2GiB';
const RUNS = Math.max(1, Number(process.env.RUNS ?? 3));
const FULL = process.env.BENCH_RESTORE_ONLY !== '1';
const DB = 'mastodon_production';

const quote = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;
const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

function must(r, what) {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${r.stderr}`);
  return r;
}

/** A coopctl run under /usr/bin/time -v: wall ms, max RSS in MB, SSH bytes from -v, the relay's reads. */
function coopctl(relayPid, args, { allowFail = false } = {}) {
  const relayBefore = relayReads(relayPid);
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0 && !allowFail) throw new Error(`coopctl ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
  let sshBytes = 0;
  for (const m of r.stderr.matchAll(/^ssh \S+: (\d+) bytes received, (\d+) bytes sent$/gm)) {
    sshBytes += Number(m[1]) + Number(m[2]);
  }
  return { ms, maxRssMB: rssKb / 1000, sshBytes, relayBytes: relayReads(relayPid) - relayBefore, stderr: r.stderr };
}

/** Bytes the operator's relay read, from both sides: every byte that crossed the operator's link, once. */
function relayReads(pid) {
  return Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))[1]);
}

/** A stage's seconds from the line renderer's `✓ TITLE ... (12.3s)`. */
function stageMs(stderr, title) {
  const line = stderr.split('\n').find((l) => l.startsWith(`✓ ${title}`));
  const s = line && /\((\d+(?:\.\d+)?)s\)$/.exec(line)?.[1];
  if (!s) throw new Error(`no finished stage "${title}" in:\n${stderr}`);
  return Number(s) * 1000;
}

/** The sandbox's coopctl.yaml with the S3 store as the default and prod's health timeout short. */
function benchConfig(dir, config) {
  const doc = parse(readFileSync(config, 'utf8'));
  doc.backup.store = 's3';
  doc.services.mastodon.environments.prod.health.timeout = '5s';
  const file = path.join(dir, 'coopctl-bench.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

withSandbox(
  ({ dir, config, inventoryFile, host }) => {
    const prod = host('prod');
    const sshArgs = [
      ...prod.ansible_ssh_common_args.split(/\s+/),
      '-o',
      'BatchMode=yes',
      '-i',
      prod.ansible_ssh_private_key_file,
      '-p',
      String(prod.ansible_port),
      `${prod.ansible_user}@${prod.ansible_host}`,
    ];
    const compose = ['docker', 'compose', '-f', `${prod.mastodon_dir}/docker-compose.yml`];
    const inDb = (...argv) => [...compose, '--project-directory', prod.mastodon_dir, 'exec', '-T', 'db', ...argv];
    const onProd = (argv, redirect = '') =>
      must(spawnSync('ssh', [...sshArgs, argv.map(quote).join(' ') + redirect], { encoding: 'utf8' }), argv[0]);
    const psql = (sql) => onProd(inDb('psql', '-X', '-At', '-U', 'postgres', '-d', 'postgres', '-c', sql)).stdout;
    const dumpFile = `${prod.coopctl_tmp_dir}/bench-baseline.dump`;
    const timed = (fn) => {
      const t = process.hrtime.bigint();
      fn();
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const baseline = () => {
      const ms = timed(() => onProd(inDb('pg_dump', '-U', 'postgres', '-Fc', DB), ` > ${quote(dumpFile)}`));
      onProd(['rm', '-f', '--', dumpFile]);
      return ms;
    };
    // The dump's own speed: what no copy of it can beat.
    const dumpOnly = () => timed(() => onProd(inDb('pg_dump', '-U', 'postgres', '-Fc', '-Z0', DB), ' > /dev/null'));
    const cfg = benchConfig(dir, config);
    const relayPid = Number(readFileSync(path.join(dir, 'links', 'operator-relay.pid'), 'utf8'));

    console.log(`\nbackup scale: filling prod's database to ${SIZE} (sandbox --link home) ...`);
    must(cli('-c', config, 'sandbox', 'fill', 'prod', '--size', SIZE, '--dir', dir), 'sandbox fill');
    const dbSize = Number(psql(`SELECT pg_database_size('${DB}')`).trim());
    must(cli('-c', cfg, 'sandbox', 'fault', 'prod', 'health-fails', '--dir', dir), 'sandbox fault');
    baseline(); // the page cache warm for everyone alike

    const r = { base: [], z0: [], s3: [], local: [], copy: [], offsite: [], restore: [], upgradeRss: [] };
    for (let i = 0; i < RUNS; i++) {
      r.base.push(baseline());
      r.z0.push(dumpOnly());
      if (FULL) {
        const create = (store) => ['-c', cfg, '-v', 'backup', 'create', 'mastodon', '--env', 'prod', '--store', store];
        r.s3.push(coopctl(relayPid, create('s3')));
        r.local.push(coopctl(relayPid, create('local')));
      }
      // Fails at verify after every migration ran, so 4.4.7 comes back with the database from the on-host copy.
      const up = coopctl(
        relayPid,
        ['-c', cfg, 'upgrade', 'mastodon', '--env', 'prod', '--to', '4.5.0', '--no-check', '--yes'],
        { allowFail: true },
      );
      r.copy.push(stageMs(up.stderr, 'Safety copy'));
      r.offsite.push(stageMs(up.stderr, 'Offsite copy'));
      r.restore.push(stageMs(up.stderr, 'Restoring'));
      r.upgradeRss.push(up.maxRssMB);
      // The replaced database is kept for inspection; at this size the disk would not keep many.
      for (const name of psql(`SELECT datname FROM pg_database WHERE datname LIKE '${DB}\\_before\\_%'`).split('\n')) {
        if (name.trim()) psql(`DROP DATABASE "${name.trim()}"`);
      }
    }
    must(cli('-c', cfg, 'sandbox', 'fault', '--clear', '--dir', dir), 'sandbox fault --clear');
    const ansible = FULL ? measureAnsibleTuning(inventoryFile, { host: 'alpha', runs: RUNS }) : undefined;

    const med = (xs, key) => median(key ? xs.map((x) => x[key]) : xs);
    const baseMs = med(r.base);
    const ok = (v, target) => `${v <= target ? 'ok' : 'MISSED'}`;
    const ratio = (ms, of, target) => `${(ms / of).toFixed(2)}× (≤ ${target}×: ${ok(ms / of, target)})`;
    const restoreRatios = r.restore.map((ms, i) => ms / r.copy[i]);
    console.log(
      `\nbackup scale: prod's database ${mib(dbSize)}, --link home, median of ${RUNS} interleaved runs ` +
        `(${new Date().toISOString().slice(0, 10)})`,
    );
    const z0Ms = med(r.z0);
    console.log(`  baseline  pg_dump -Fc -Z0 to /dev/null on the host, over ssh: ${secs(z0Ms)}`);
    console.log(`  baseline  pg_dump -Fc to a file on the host, over ssh: ${secs(baseMs)}`);
    console.log(
      `  safety copy (on-host, checked; upgrade stage): ${secs(med(r.copy))} = ${ratio(med(r.copy), z0Ms, 1.1)} ` +
        `the dump's own speed; ${ratio(med(r.copy), baseMs, 1.2)} pg_dump -Fc to a file`,
    );
    console.log(`    (upgrade's offsite stage after its safety copy: ${secs(med(r.offsite))})`);
    console.log(
      `  automatic restore from the on-host copy: ${secs(med(r.restore))} = ${median(restoreRatios).toFixed(2)}× ` +
        `its backup's safety copy (≤ 1.5×: ${ok(median(restoreRatios), 1.5)})`,
    );
    if (!FULL) return;
    const peakRss = Math.max(...r.s3.map((x) => x.maxRssMB), ...r.upgradeRss);
    console.log(`  backup create --store s3: ${secs(med(r.s3, 'ms'))} = ${ratio(med(r.s3, 'ms'), baseMs, 1.5)}`);
    console.log(
      `  bytes over the link per backup (s3): ssh ${kib(med(r.s3, 'sshBytes'))}, relay ${kib(med(r.s3, 'relayBytes'))}` +
        ` (≤ 1 MiB: ${ok(Math.max(med(r.s3, 'sshBytes'), med(r.s3, 'relayBytes')), 1048576)})`,
    );
    console.log(
      `  peak RSS: backup create --store s3 ${med(r.s3, 'maxRssMB').toFixed(0)} MB, ` +
        `upgrade ${med(r.upgradeRss).toFixed(0)} MB; max ${peakRss.toFixed(0)} MB (≤ 150 MB: ${ok(peakRss, 150)})`,
    );
    const tuned = ansible.tuned / ansible.default;
    console.log(
      `  playbook, coopctl's Ansible settings: ${secs(ansible.tuned)} vs defaults ${secs(ansible.default)} = ` +
        `${tuned.toFixed(2)}× (≤ 0.5×: ${ok(tuned, 0.5)})` +
        (ansible.mitogen ? `; mitogen ${(ansible.mitogen / ansible.default).toFixed(2)}×` : '; mitogen not installed'),
    );
    console.log(
      `  (record) laptop path, backup create --store local: ${secs(med(r.local, 'ms'))} = ` +
        `${(med(r.local, 'ms') / baseMs).toFixed(2)}×, ssh ${mib(med(r.local, 'sshBytes'))} ` +
        `(relay ${mib(med(r.local, 'relayBytes'))}) over the link, peak RSS ${med(r.local, 'maxRssMB').toFixed(0)} MB`,
    );
  },
  { link: 'home' },
);
