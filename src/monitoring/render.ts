import { stringify } from 'yaml';
import { alertmanagerConfig } from './alertmanager.js';
import { blackboxConfig } from './blackbox.js';
import type { MonitorPlan } from './plan.js';
import { prometheusConfig, RULES_FILE } from './prometheus.js';
import { ruleGroups } from './rules.js';

const HEADER = '# Written by `coopctl monitor render` from coopctl.yaml: change that file and render again.\n';

const yaml = (doc: unknown) => HEADER + stringify(doc, { lineWidth: 0 });

/** The files of the monitoring host's /etc/prometheus/, by path relative to it. */
export function renderMonitoring(plan: MonitorPlan): Map<string, string> {
  return new Map([
    ['prometheus.yml', yaml(prometheusConfig(plan))],
    [RULES_FILE, yaml({ groups: ruleGroups(plan) })],
    ['blackbox.yml', yaml(blackboxConfig(plan.targets.flatMap((t) => t.probes)))],
    ['alertmanager.yml', yaml(alertmanagerConfig(plan))],
  ]);
}
