import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { coopctl, fixtureCopy } from './cli.js';

async function rendered(edit?: (t: string) => string) {
  const dir = fixtureCopy(edit);
  const r = await coopctl(['-c', path.join(dir, 'coopctl.yaml'), 'monitor', 'render', '--out', path.join(dir, 'out')]);
  const file = (name: string) => parse(readFileSync(path.join(dir, 'out', name), 'utf8'));
  return { ...r, dir, file };
}

interface Job {
  job_name: string;
  params?: { module: string[] };
  static_configs: { targets: string[]; labels: Record<string, string> }[];
}

describe('monitor render, from the sandbox-like config', () => {
  it('scrapes node exporter on every host at its inventory address, Mastodon exporter on Mastodon hosts', async () => {
    const r = await rendered();
    expect(r.code, r.stderr).toBe(0);
    const jobs = (r.file('prometheus.yml') as { scrape_configs: Job[] }).scrape_configs;
    const targets = (name: string) =>
      jobs.find((j) => j.job_name === name)?.static_configs.map((s) => ({ target: s.targets[0], ...s.labels }));
    // hypha (the monitoring host and the apps'), alpha (also backup.restoreTest), prod
    expect(targets('node')).toEqual([
      { target: '10.231.0.4:9100', host: 'hypha' },
      { target: '10.231.0.2:9100', host: 'alpha' },
      { target: '10.231.0.3:9100', host: 'prod' },
    ]);
    expect(targets('mastodon')).toEqual([
      { target: '10.231.0.2:9394', service: 'mastodon', env: 'alpha', host: 'alpha' },
      { target: '10.231.0.3:9394', service: 'mastodon', env: 'prod', host: 'prod' },
    ]);
  });

  it("probes each health URL as the service's own checks judge it: Mastodon's /health and streaming, apps' URL", async () => {
    const r = await rendered();
    const jobs = (r.file('prometheus.yml') as { scrape_configs: Job[] }).scrape_configs;
    const probes = jobs
      .filter((j) => j.params)
      .flatMap((j) =>
        j.static_configs.map(
          (s) => `${j.params!.module[0]} ${s.labels.service}/${s.labels.env} ${s.labels.probe} ${s.targets[0]}`,
        ),
      );
    expect(probes).toEqual([
      'http_200_body_ok mastodon/alpha web http://10.231.0.2:8080/health',
      'http_200_body_ok mastodon/alpha streaming http://10.231.0.2:8080/api/v1/streaming/health',
      'http_200_body_ok mastodon/prod web https://10.231.0.3:8443/health',
      'http_200_body_ok mastodon/prod streaming https://10.231.0.3:8443/api/v1/streaming/health',
      // prod's health.federation: WebFinger of admin@social.coop, at prod's address
      'http_200_webfinger_resource_acct_admin_social_coop mastodon/prod webfinger ' +
        'https://10.231.0.3:8443/.well-known/webfinger?resource=acct%3Aadmin%40social.coop',
      'http_answers bonfire/prod app http://10.231.0.4:20080',
      'http_answers wiki/alpha app http://10.231.0.4:20081',
    ]);
    const modules = (r.file('blackbox.yml') as { modules: Record<string, { http: Record<string, unknown> }> }).modules;
    expect(modules.http_200_body_ok.http).toMatchObject({
      valid_status_codes: [200],
      follow_redirects: false,
      fail_if_body_not_matches_regexp: ['^\\s*OK\\s*$'],
    });
    expect(modules.http_answers.http.valid_status_codes).toEqual(expect.arrayContaining([200, 204, 302, 308]));
    expect(modules.http_200_webfinger_resource_acct_admin_social_coop.http).toEqual({
      method: 'GET',
      valid_status_codes: [200],
      follow_redirects: false,
      fail_if_body_not_matches_regexp: ['"subject"\\s*:\\s*"acct:admin@social\\.coop"', '"rel"\\s*:\\s*"self"'],
      headers: { Accept: 'application/jrd+json', Host: 'social.coop' },
    });
    expect(modules.http_answers.http.valid_status_codes).not.toContain(404);
  });

  it("records each environment's latency budget and which ones are backed up, for the alerts to join on", async () => {
    const r = await rendered();
    const groups = (r.file('rules/coopctl.yml') as { groups: { name: string; rules: Record<string, unknown>[] }[] })
      .groups;
    const facts = groups
      .find((g) => g.name === 'coopctl-config')!
      .rules.map(
        (x) =>
          `${x.record} ${(x.labels as Record<string, string>).service}/${(x.labels as Record<string, string>).env} ${x.expr}`,
      );
    expect(facts).toEqual([
      'coopctl:latency_budget_seconds mastodon/alpha vector(1.5)',
      'coopctl:backups_expected mastodon/alpha vector(1)',
      'coopctl:latency_budget_seconds mastodon/prod vector(1.5)',
      'coopctl:backups_expected mastodon/prod vector(1)',
      // bonfire: the default budget (health.latencyMs 2000); a database, so backed up
      'coopctl:latency_budget_seconds bonfire/prod vector(2)',
      'coopctl:backups_expected bonfire/prod vector(1)',
      // the wiki has no database: no freshness expected
      'coopctl:latency_budget_seconds wiki/alpha vector(3)',
    ]);
    const am = r.file('alertmanager.yml') as { receivers: { webhook_configs?: { url: string }[] }[] };
    expect(am.receivers[0].webhook_configs?.[0].url).toBe('http://127.0.0.1:9088/alerts');
  });

  it('--dry-run and --json list the files without writing them', async () => {
    const dir = fixtureCopy();
    const r = await coopctl(['-c', path.join(dir, 'coopctl.yaml'), '--dry-run', '--json', 'monitor', 'render']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { out: string; dryRun: boolean; files: { path: string }[] };
    expect(doc.out).toBe(path.join(dir, 'monitoring'));
    expect(doc.files.map((f) => path.relative(doc.out, f.path))).toEqual([
      'prometheus.yml',
      'rules/coopctl.yml',
      'blackbox.yml',
      'alertmanager.yml',
    ]);
    expect(() => readFileSync(doc.files[0].path)).toThrow(/ENOENT/);
  });
});

describe('monitor render refuses bad config before writing anything (exit 2, file:line)', () => {
  const refused = async (edit: (t: string) => string, message: RegExp) => {
    const r = await rendered(edit);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(() => readFileSync(path.join(r.dir, 'out', 'prometheus.yml'))).toThrow(/ENOENT/);
  };

  it('the monitoring host is a Mastodon host it watches', async () => {
    await refused(
      (t) => t.replace('  host: hypha\n  scrapeInterval', '  host: prod\n  scrapeInterval'),
      /coopctl\.yaml:8 monitoring\.host: prod is mastodon\/prod's host: the monitoring must not run on the mastodon host/,
    );
  });

  it('... also under another inventory name for the same machine (address and SSH port)', async () => {
    const dir = fixtureCopy((t) => t.replace('  host: hypha\n  scrapeInterval', '  host: watcher\n  scrapeInterval'));
    const inv = path.join(dir, 'inventory.yml');
    const text = readFileSync(inv, 'utf8').replace(
      '        hypha:',
      '        watcher: { ansible_host: 10.231.0.2, ansible_port: 22 }\n        hypha:',
    );
    writeFileSync(inv, text);
    const r = await coopctl([
      '-c',
      path.join(dir, 'coopctl.yaml'),
      'monitor',
      'render',
      '--out',
      path.join(dir, 'out'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/coopctl\.yaml:8 monitoring\.host: watcher is mastodon\/alpha's host/);
  });

  it('a host the inventory does not have', async () => {
    await refused(
      (t) => t.replace('  host: hypha\n  scrapeInterval', '  host: hyhpa\n  scrapeInterval'),
      /coopctl\.yaml:8 monitoring\.host: no host "hyhpa" in inventory\.yml/,
    );
  });

  it('no monitoring: block', async () => {
    await refused((t) => t.replace(/^monitoring:\n(?: {2}.*\n)+/m, ''), /monitoring: is required by monitor render/);
  });

  it('an unknown key, a threshold in fractions of a second, a webhook URL that carries a password', async () => {
    await refused(
      (t) => t.replace('  scrapeInterval: 15s', '  scrapeIntervall: 15s'),
      /coopctl\.yaml:9 monitoring\.scrapeIntervall: unknown key/,
    );
    await refused(
      (t) => t.replace('  probeInterval: 15s', '  probeInterval: 15s\n  thresholds: { down: 1500ms }'),
      /coopctl\.yaml:11 monitoring\.thresholds\.down: must be whole seconds/,
    );
    await refused(
      (t) => t.replace('http://127.0.0.1:9088/alerts', 'https://bot:s3cret@relay.example/alerts'),
      /monitoring\.alertmanager\.webhook: must not carry a user or password/,
    );
  });

  it("Alertmanager's API URL that is not http(s) or carries a password; a silence bound that is not a duration", async () => {
    const am = (v: string) => (t: string) =>
      t.replace('alertmanager: { webhook: "http://127.0.0.1:9088/alerts" }', `alertmanager: { ${v} }`);
    await refused(am('url: "ftp://127.0.0.1:9093"'), /coopctl\.yaml:11 monitoring\.alertmanager\.url: /);
    await refused(
      am('url: "http://ops:pw@127.0.0.1:9093"'),
      /monitoring\.alertmanager\.url: must not carry a user or password/,
    );
    await refused(am('silenceFor: "2 hours"'), /monitoring\.alertmanager\.silenceFor: "2 hours" is not a duration/);
  });
});
