import type { MonitorPlan } from './plan.js';

/**
 * alertmanager.yml: every alert to the operators' webhook (a relay to their room comes later), grouped per service
 * × environment; a critical alert silences the warning of the same name and place.
 */
// source: https://prometheus.io/docs/alerting/latest/configuration/ (0.25): route, receivers with webhook_configs
// (url, send_resolved), inhibit_rules with source_matchers/target_matchers/equal
export function alertmanagerConfig(plan: MonitorPlan) {
  const { webhook } = plan.settings.alertmanager;
  return {
    route: {
      receiver: 'operators',
      group_by: ['alertname', 'service', 'env', 'host'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
    },
    receivers: [{ name: 'operators', ...(webhook && { webhook_configs: [{ url: webhook, send_resolved: true }] }) }],
    inhibit_rules: [
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ['alertname', 'service', 'env', 'host', 'instance', 'queue'],
      },
    ],
  };
}
