// A throwaway sandbox for benchmarks, driven through the CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

export const bin = path.resolve(import.meta.dirname, '..', 'bin', 'coopctl');

export function cli(...args) {
  return spawnSync(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, CI: '1' },
  });
}

export function withSandbox(fn, { extraHosts = 0, link } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-bench-'));
  try {
    const linkArgs = link ? ['--link', link] : [];
    const up = cli('--json', 'sandbox', 'up', '--dir', dir, '--extra-hosts', String(extraHosts), ...linkArgs);
    if (up.status !== 0) throw new Error(`sandbox up failed:\n${up.stderr}`);
    // Its pass store, as an operator's shell exports it, for every coopctl run of the benchmark.
    Object.assign(process.env, JSON.parse(up.stdout).env);
    const inventory = parse(readFileSync(path.join(dir, 'inventories', 'sandbox.yml'), 'utf8'));
    return fn({
      dir,
      config: path.join(dir, 'coopctl.yaml'),
      inventoryFile: path.join(dir, 'inventories', 'sandbox.yml'),
      host: (name) => inventory.all.children.mastodon.hosts[name],
    });
  } finally {
    cli('sandbox', 'down', '--dir', dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
