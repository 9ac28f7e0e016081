import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { changeSilence } from '../../../src/cli/silence.js';
import type { HistoryRecord } from '../../../src/history/records.js';
import { AlertmanagerClient } from '../../../src/notify/alertmanager.js';
import type { ChangePlan } from '../../../src/pipeline/change.js';
import type { Workspace } from '../../../src/workspace/workspace.js';
import { useAlertmanager } from '../../helpers/alertmanager.js';
import { freePort } from '../../world/net.js';
import { coopctl, fixtureCopy } from '../monitoring/cli.js';

/**
 * A change's silence against the real Alertmanager: it silences exactly what `monitor render` labels as the
 * service × environment, and is expired at the end; Alertmanager down is a warning.
 */

const am = useAlertmanager();

const plan = { service: 'mastodon', env: 'alpha', host: 'alpha', from: '4.4.7', to: '4.4.8' } as ChangePlan;
const record = { id: 'r-42', operation: 'upgrade', operator: 'ana' } as HistoryRecord;
const wsAt = (url: string) =>
  ({ config: { monitoring: { alertmanager: { url, silenceFor: 3_600_000 } } } }) as unknown as Workspace;

interface AlertDoc {
  labels: Record<string, string>;
  status: { state: string; silencedBy: string[] };
}

/** The label sets of every target `monitor render` writes for the fixture (probes, exporters), each as an alert. */
async function renderedAlerts(): Promise<Record<string, string>[]> {
  const dir = fixtureCopy();
  const r = await coopctl(['-c', path.join(dir, 'coopctl.yaml'), 'monitor', 'render', '--out', path.join(dir, 'out')]);
  expect(r.code, r.stderr).toBe(0);
  const prom = parse(readFileSync(path.join(dir, 'out', 'prometheus.yml'), 'utf8')) as {
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ labels: Record<string, string> }> }>;
  };
  return prom.scrape_configs.flatMap((j) =>
    j.static_configs.map((s, i) => ({ alertname: `Test_${j.job_name}_${i}`, ...s.labels })),
  );
}

describe('the silence of a change', () => {
  it("silences every alert of the change's service × environment as monitor render labels them, and no other", async () => {
    const alerts = await renderedAlerts();
    const post = await fetch(`${am().url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts.map((labels) => ({ labels, annotations: {} }))),
    });
    expect(post.status).toBe(200);
    const observer = changeSilence(wsAt(am().url), plan)!;
    observer.started(record);
    expect(await observer.settled()).toEqual([]);
    const [silence] = await new AlertmanagerClient({ url: am().url, timeoutMs: 2000 }).silences();
    expect(silence).toMatchObject({
      state: 'active',
      createdBy: 'ana',
      comment: 'coopctl upgrade of mastodon/alpha: 4.4.7 → 4.4.8 (record r-42)',
    });

    const states = async () => {
      const got = (await (await fetch(`${am().url}/api/v2/alerts`)).json()) as AlertDoc[];
      return got.map((a) => `${a.labels.service ?? '-'}/${a.labels.env ?? '-'} ${a.status.state}`).sort();
    };
    const now = await states();
    // the fixture's mastodon/alpha has its two probes and its exporter; nothing else is held back
    expect(now.filter((s) => s.endsWith('suppressed'))).toEqual([
      'mastodon/alpha suppressed',
      'mastodon/alpha suppressed',
      'mastodon/alpha suppressed',
    ]);
    expect(now.filter((s) => s.startsWith('mastodon/prod')).every((s) => s.endsWith('active'))).toBe(true);
    expect(now.filter((s) => s.startsWith('-/-')).every((s) => s.endsWith('active'))).toBe(true);

    observer.ended(undefined);
    expect(await observer.settled()).toEqual([]);
    const after = await new AlertmanagerClient({ url: am().url, timeoutMs: 2000 }).silences();
    expect(after.map((s) => [s.id, s.state])).toEqual([[silence.id, 'expired']]);
  });

  it('Alertmanager down: one warning naming it, no expiry tried for a silence that was never made', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const observer = changeSilence(wsAt(url), plan)!;
    observer.started(record);
    observer.ended(undefined);
    const warnings = await observer.settled();
    expect(warnings).toEqual([
      `the alerts of mastodon/alpha were not silenced in Alertmanager (${url}): ${url}: connection refused`,
    ]);
  });

  it('does nothing without monitoring.alertmanager.url', () => {
    expect(changeSilence({ config: {} } as unknown as Workspace, plan)).toBeUndefined();
  });
});
