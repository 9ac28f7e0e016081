import type { MonitoringConfig } from '../config/schema.js';
import { FRESHNESS } from './freshness.js';
import { serviceLabels } from './labels.js';
import type { MonitorPlan } from './plan.js';
import { promDuration } from './promDuration.js';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string };
}
interface RecordingRule {
  record: string;
  expr: string;
  labels: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: Array<AlertRule | RecordingRule>;
}

const seconds = (ms: number) => String(Math.round(ms / 1000));
const where = '{{ $labels.service }}/{{ $labels.env }}';
const FS = '{job="node",fstype!="tmpfs"}';
const SIDEKIQ_LATENCY = 'max by (service, env, queue) (sidekiq_queue_latency_seconds{job="mastodon"})';

/** What the config knows per service × environment, as series the alerts join on (service, env). */
function configFacts(plan: MonitorPlan): RecordingRule[] {
  return plan.targets.flatMap((t) => [
    ...(t.latencyBudgetMs !== undefined && t.probes.length
      ? [
          {
            record: 'coopctl:latency_budget_seconds',
            expr: `vector(${t.latencyBudgetMs / 1000})`,
            labels: serviceLabels(t),
          },
        ]
      : []),
    ...(t.backedUp ? [{ record: 'coopctl:backups_expected', expr: 'vector(1)', labels: serviceLabels(t) }] : []),
  ]);
}

/** Older than `ageMs`, or never written for a service × environment that is backed up. */
function freshness(metric: string, ageMs: number): string {
  return (
    `(time() - max by (service, env) (${metric}) > ${seconds(ageMs)})` +
    ` or on (service, env) (coopctl:backups_expected unless on (service, env) ${metric})`
  );
}

function serviceAlerts(th: MonitoringConfig['thresholds']): AlertRule[] {
  return [
    // source: https://samber.github.io/awesome-prometheus-alerts/rules#blackbox (BlackboxProbeFailed:
    // probe_success == 0); 5 minutes: NYC Mesh's requirement, "alert the team within 5 minutes"
    // (https://wiki.mesh.nycmesh.net/books/6-services-software/page/alerting-and-monitoring-system)
    {
      alert: 'ServiceDown',
      expr: 'probe_success{job=~"probe_.+"} == 0',
      for: promDuration(th.down),
      labels: { severity: 'critical' },
      annotations: { summary: `${where}: {{ $labels.instance }} does not answer as it should` },
    },
    // source: toot.community's rules, latency "p99 > 1 s ... for 10m" (github.com/toot-community/
    // mastodon-observability lib/mastodon/alerts.libsonnet); the budget is the environment's health.latencyMs
    {
      alert: 'ServiceSlow',
      expr: 'probe_duration_seconds{job=~"probe_.+"} > on (service, env) group_left coopctl:latency_budget_seconds',
      for: promDuration(th.slow),
      labels: { severity: 'warning' },
      annotations: { summary: `${where}: {{ $labels.instance }} took {{ $value }}s, over its latency budget` },
    },
    // source: https://samber.github.io/awesome-prometheus-alerts/rules#blackbox
    // (BlackboxSslCertificateWillExpireSoon: warning under 20 days, critical under 3); Let's Encrypt certificates
    // are renewed 30 days ahead, so 20 days left means renewal has failed for 10 days
    {
      alert: 'TlsCertificateExpiring',
      expr: `probe_ssl_earliest_cert_expiry - time() < ${seconds(th.tlsWarning)}`,
      labels: { severity: 'warning' },
      annotations: { summary: `${where}: the certificate of {{ $labels.instance }} expires soon` },
    },
    {
      alert: 'TlsCertificateExpiring',
      expr: `probe_ssl_earliest_cert_expiry - time() < ${seconds(th.tlsCritical)}`,
      labels: { severity: 'critical' },
      annotations: { summary: `${where}: the certificate of {{ $labels.instance }} expires soon` },
    },
    // source: mastodon/mastodon config/initializers/sidekiq.rb (4.4): PrometheusExporter::Instrumentation::
    // SidekiqQueue.start under MASTODON_PROMETHEUS_EXPORTER_SIDEKIQ_DETAILED_METRICS, "reported by every process
    // handling those queues, so do not sum them up" (hence max); the gauge sidekiq_queue_latency_seconds{queue}:
    // discourse/prometheus_exporter lib/prometheus_exporter/server/sidekiq_queue_collector.rb. Thresholds:
    // toot.community's lib/mastodon/config.libsonnet (sidekiq.latencyWarningSeconds 30 for 5m,
    // latencyCriticalSeconds 120 for 10m)
    {
      alert: 'SidekiqQueueLatencyHigh',
      expr: `${SIDEKIQ_LATENCY} > ${seconds(th.sidekiqLatencyWarning)}`,
      for: '5m',
      labels: { severity: 'warning' },
      annotations: { summary: `${where}: Sidekiq queue {{ $labels.queue }} is {{ $value }}s behind` },
    },
    {
      alert: 'SidekiqQueueLatencyHigh',
      expr: `${SIDEKIQ_LATENCY} > ${seconds(th.sidekiqLatencyCritical)}`,
      for: '10m',
      labels: { severity: 'critical' },
      annotations: { summary: `${where}: Sidekiq queue {{ $labels.queue }} is {{ $value }}s behind` },
    },
    // source: https://samber.github.io/awesome-prometheus-alerts/rules#prometheus-self-monitoring
    // (PrometheusTargetMissing: up == 0); Mastodon's exporter: https://docs.joinmastodon.org/admin/config/#prometheus
    {
      alert: 'MastodonExporterDown',
      expr: 'up{job="mastodon"} == 0',
      for: promDuration(th.down),
      labels: { severity: 'warning' },
      annotations: { summary: `${where}: Mastodon's exporter on {{ $labels.instance }} does not answer` },
    },
    // Issue 21: "a backup timer once ran for months without anyone noticing it had stopped": judged from the data
    // (src/monitoring/freshness.ts), never from the timer, and a backup never recorded counts as stale. 26h: the
    // nightly schedule plus two hours; 8d: the weekly restore test plus a day
    {
      alert: 'BackupStale',
      expr: freshness(FRESHNESS.backup, th.backupAge),
      for: '1h',
      labels: { severity: 'critical' },
      annotations: { summary: `${where}: no backup succeeded within ${promDuration(th.backupAge)}` },
    },
    {
      alert: 'RestoreTestStale',
      expr: freshness(FRESHNESS.restoreTest, th.restoreTestAge),
      for: '1h',
      labels: { severity: 'warning' },
      annotations: { summary: `${where}: no restore test succeeded within ${promDuration(th.restoreTestAge)}` },
    },
  ];
}

function hostAlerts(th: MonitoringConfig['thresholds']): AlertRule[] {
  const host = '{{ $labels.host }}';
  return [
    // source: https://samber.github.io/awesome-prometheus-alerts/rules#prometheus-self-monitoring
    // (PrometheusTargetMissing: up == 0)
    {
      alert: 'HostDown',
      expr: 'up{job="node"} == 0',
      for: promDuration(th.down),
      labels: { severity: 'critical' },
      annotations: { summary: `${host}: node exporter does not answer` },
    },
    // source: https://samber.github.io/awesome-prometheus-alerts/rules#host-and-hardware (HostOutOfDiskSpace:
    // less than 10% available, read-write file systems)
    {
      alert: 'DiskAlmostFull',
      expr: `node_filesystem_avail_bytes${FS} / node_filesystem_size_bytes${FS} < ${th.diskFreeRatio}`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: { summary: `${host}: {{ $labels.mountpoint }} is almost full` },
    },
    // source: prometheus/node_exporter docs/node-mixin/alerts/alerts.libsonnet (NodeFilesystemSpaceFillingUp:
    // predict_linear(node_filesystem_avail_bytes[6h], 24*60*60) < 0), looking weeks ahead on a week's trend: the
    // database doubles every year and the disk ran short in 2025 (issue 21)
    {
      alert: 'DiskFillsWithinWeeks',
      expr: `predict_linear(node_filesystem_avail_bytes${FS}[7d], ${seconds(th.diskFillsWithin)}) < 0`,
      for: '1h',
      labels: { severity: 'warning' },
      annotations: { summary: `${host}: {{ $labels.mountpoint }} fills within ${promDuration(th.diskFillsWithin)}` },
    },
    // source: prometheus/node_exporter collector/mdadm_linux.go (node_md_disks{device,state="active|failed|spare"},
    // node_md_disks_required{device}, node_md_state{device,state}); the rules: node-mixin alerts.libsonnet
    // (NodeRAIDDegraded for 15m, critical; NodeRAIDDiskFailure)
    {
      alert: 'RaidDegraded',
      expr: 'node_md_disks_required{job="node"} - ignoring (state) node_md_disks{job="node",state="active"} > 0',
      for: '15m',
      labels: { severity: 'critical' },
      annotations: { summary: `${host}: RAID array {{ $labels.device }} is degraded` },
    },
    {
      alert: 'RaidDiskFailed',
      expr: 'node_md_disks{job="node",state="failed"} > 0',
      labels: { severity: 'warning' },
      annotations: { summary: `${host}: RAID array {{ $labels.device }} has a failed disk` },
    },
    {
      alert: 'RaidArrayInactive',
      expr: 'node_md_state{job="node",state="inactive"} == 1',
      for: '5m',
      labels: { severity: 'critical' },
      annotations: { summary: `${host}: RAID array {{ $labels.device }} is inactive` },
    },
    // source: Debian bookworm prometheus-node-exporter-collectors, /usr/share/prometheus-node-exporter-collectors/
    // apt_info.py:107-113 writes node_reboot_required (1 when /run/reboot-required exists) to
    // /var/lib/prometheus/node-exporter/apt.prom every 15 minutes (prometheus-node-exporter-apt.timer); a day
    // pending before it warns, so that operators reboot at a time they choose
    {
      alert: 'RebootPending',
      expr: 'node_reboot_required{job="node"} > 0',
      for: promDuration(th.rebootPending),
      labels: { severity: 'warning' },
      annotations: { summary: `${host}: a reboot is pending` },
    },
  ];
}

/** rules/coopctl.yml: the config's facts as series, and the alerts. */
export function ruleGroups(plan: MonitorPlan): RuleGroup[] {
  const th = plan.settings.thresholds;
  return [
    { name: 'coopctl-config', rules: configFacts(plan) },
    { name: 'coopctl-services', rules: serviceAlerts(th) },
    { name: 'coopctl-hosts', rules: hostAlerts(th) },
  ];
}
