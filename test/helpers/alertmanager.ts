import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from '../world/net.js';

/** Debian's prometheus-alertmanager (0.25.0 here), the real one: silences and alerts are its own. */
export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager';

export interface TestAlertmanager {
  url: string;
  /** Stops it (SIGTERM, then its exit). */
  stop(): Promise<void>;
}

/**
 * A real Alertmanager on a free loopback port, its storage in a temp dir, clustering off
 * (`--cluster.listen-address=` empty: prometheus/alertmanager README.md "High Availability"). Every alert goes to
 * `webhook` when given (send_resolved), with no grouping wait, so a test sees its notification within seconds.
 */
export async function startAlertmanager(opts: { webhook?: string } = {}): Promise<TestAlertmanager> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-am-'));
  const port = await freePort();
  const receiver = {
    name: 'test',
    ...(opts.webhook && { webhook_configs: [{ url: opts.webhook, send_resolved: true }] }),
  };
  const route = { receiver: 'test', group_by: ['alertname', 'service', 'env'], group_wait: '0s', group_interval: '1s' };
  writeFileSync(path.join(dir, 'alertmanager.yml'), stringify({ route, receivers: [receiver] }));
  const child: ChildProcess = spawn(
    ALERTMANAGER_BIN,
    [
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (c: Buffer) => {
    log = (log + c.toString()).slice(-4000);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    // GET /-/ready: 200 once it has loaded its config (as the 0.25.0 binary answers)
    const ok = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`alertmanager did not start on ${url}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A real Alertmanager for the test file that calls this: started before its tests, stopped after them. */
export function useAlertmanager(opts: { webhook?: string } = {}): () => TestAlertmanager {
  let am: TestAlertmanager | undefined;
  beforeAll(async () => {
    am = await startAlertmanager(opts);
  }, 30_000);
  afterAll(async () => {
    await am?.stop();
  });
  return () => am!;
}
