/**
 * The freshness metrics `coopctl schedule mark` writes after each scheduled run, for node exporter's textfile
 * collector on the host the timers run on: one gauge per service × environment, labels `service` and `env`, the
 * Unix time of the newest success. One file per kind × service × environment (the collector reads every *.prom
 * there), so two units never rewrite each other's; written whole to a temporary file in the same directory and
 * renamed, as the collector's documentation asks, so that node exporter never reads half a file.
 */
export const FRESHNESS = {
  backup: 'coopctl_backup_last_success_timestamp_seconds',
  restoreTest: 'coopctl_restore_test_last_success_timestamp_seconds',
} as const;

// source: Debian bookworm prometheus-node-exporter 1.5.0, `prometheus-node-exporter --help`:
// --collector.textfile.directory="/var/lib/prometheus/node-exporter"
export const TEXTFILE_DIR = '/var/lib/prometheus/node-exporter';

export type FreshnessKind = keyof typeof FRESHNESS;

/** The textfile of one kind × service × environment: its name in the directory and its text. */
export function freshnessTextfile(kind: FreshnessKind, service: string, env: string, at: Date) {
  const metric = FRESHNESS[kind];
  // source: Prometheus exposition formats (https://prometheus.io/docs/instrumenting/exposition_formats/): HELP, TYPE
  const text =
    `# HELP ${metric} Unix time of the newest success of coopctl's scheduled ${kind}.\n` +
    `# TYPE ${metric} gauge\n` +
    `${metric}{service="${service}",env="${env}"} ${Math.floor(at.getTime() / 1000)}\n`;
  return { name: `coopctl_${kind}_${service}_${env}.prom`, text };
}
