import { moduleName } from './blackbox.js';
import { serviceLabels } from './labels.js';
import type { MonitorPlan } from './plan.js';
import { promDuration } from './promDuration.js';

export const RULES_FILE = 'rules/coopctl.yml';
/** Prometheus, the blackbox exporter and Alertmanager run side by side on the monitoring host (Debian's ports). */
const ALERTMANAGER = '127.0.0.1:9093';

interface StaticConfig {
  targets: string[];
  labels: Record<string, string>;
}

/** Prometheus's default scrape timeout (10s), never longer than the interval (promtool refuses that). */
const timeoutFor = (intervalMs: number) => promDuration(Math.min(intervalMs, 10_000));

function probeJobs(plan: MonitorPlan) {
  const byModule = new Map<string, StaticConfig[]>();
  for (const t of plan.targets) {
    for (const p of t.probes) {
      const list = byModule.get(moduleName(p)) ?? [];
      list.push({ targets: [p.url], labels: { ...serviceLabels(t), host: t.host, probe: p.name } });
      byModule.set(moduleName(p), list);
    }
  }
  const { probeInterval, ports } = plan.settings;
  // source: prometheus/blackbox_exporter README.md, "Prometheus Configuration": the target as __param_target, the
  // exporter as __address__
  return [...byModule].map(([module, staticConfigs]) => ({
    job_name: `probe_${module}`,
    metrics_path: '/probe',
    params: { module: [module] },
    scrape_interval: promDuration(probeInterval),
    scrape_timeout: timeoutFor(probeInterval),
    static_configs: staticConfigs,
    relabel_configs: [
      { source_labels: ['__address__'], target_label: '__param_target' },
      { source_labels: ['__param_target'], target_label: 'instance' },
      { target_label: '__address__', replacement: `127.0.0.1:${ports.blackbox}` },
    ],
  }));
}

function exporterJob(plan: MonitorPlan, job: 'mastodon') {
  const port = plan.settings.ports[job];
  const staticConfigs = plan.targets
    .filter((t) => t.exporters.includes(job))
    .map((t) => {
      const host = plan.hosts.find((h) => h.name === t.host)!;
      return { targets: [`${host.address}:${port}`], labels: { ...serviceLabels(t), host: t.host } };
    });
  return staticConfigs.length ? [{ job_name: job, static_configs: staticConfigs }] : [];
}

/** prometheus.yml: node exporter on every host, the services' exporters, the probes; the rules; Alertmanager. */
export function prometheusConfig(plan: MonitorPlan) {
  const { scrapeInterval, ports } = plan.settings;
  return {
    global: {
      scrape_interval: promDuration(scrapeInterval),
      scrape_timeout: timeoutFor(scrapeInterval),
      evaluation_interval: promDuration(scrapeInterval),
    },
    rule_files: [RULES_FILE],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [ALERTMANAGER] }] }] },
    scrape_configs: [
      {
        job_name: 'node',
        static_configs: plan.hosts.map((h) => ({ targets: [`${h.address}:${ports.node}`], labels: { host: h.name } })),
      },
      ...exporterJob(plan, 'mastodon'),
      ...probeJobs(plan),
    ],
  };
}
