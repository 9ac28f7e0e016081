/**
 * The freshness metrics coopctl writes (the writer comes with `coopctl schedule`), for node exporter's textfile
 * collector on the host the scheduled commands run on: one gauge per service × environment, labels `service` and
 * `env`, the Unix time of the newest success. Written whole to a temporary file and renamed, as the collector's
 * documentation asks, so that node exporter never reads half a file.
 */
export const FRESHNESS = {
  backup: 'coopctl_backup_last_success_timestamp_seconds',
  restoreTest: 'coopctl_restore_test_last_success_timestamp_seconds',
} as const;

// source: Debian bookworm prometheus-node-exporter 1.5.0, `prometheus-node-exporter --help`:
// --collector.textfile.directory="/var/lib/prometheus/node-exporter"
export const TEXTFILE = '/var/lib/prometheus/node-exporter/coopctl.prom';
