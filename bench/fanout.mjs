// Fan-out: `status --json` over 16 sandbox hosts against the same over 1
// (target ≤ 2×: hosts are read in parallel, each over its own SSH connection).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compare, report } from './lib.mjs';

const bin = path.resolve(import.meta.dirname, '..', 'bin', 'coopctl');
const hosts = Number(process.env.HOSTS ?? 16);
const runs = Number(process.env.RUNS ?? 7);
const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-bench-fanout-'));
const cli = (...args) =>
  spawnSync(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
try {
  console.log(`building a sandbox with ${hosts} Mastodon hosts...`);
  const up = cli('sandbox', 'up', '--dir', dir, '--extra-hosts', String(hosts - 2));
  if (up.status !== 0) throw new Error('sandbox up failed');
  const config = path.join(dir, 'coopctl.yaml');
  const all = JSON.parse(cli('-c', config, '--json', 'status', 'mastodon').stdout);
  const healthy = all.services.filter((s) => s.healthy).length;
  if (healthy !== hosts) throw new Error(`only ${healthy} of ${hosts} hosts are healthy`);
  const [one, many] = compare(
    [
      {
        name: 'status --json, 1 host',
        cmd: process.execPath,
        args: [bin, '-c', config, '--json', 'status', 'mastodon', '--env', 'alpha'],
      },
      {
        name: `status --json, ${hosts} hosts`,
        cmd: process.execPath,
        args: [bin, '-c', config, '--json', 'status', 'mastodon'],
      },
    ],
    runs,
  );
  report(`fan-out (median of ${runs} interleaved runs)`, one, [many], 2);
} finally {
  cli('sandbox', 'down', '--dir', dir);
  rmSync(dir, { recursive: true, force: true });
}
