/**
 * The labels that place a series, and so an alert, at a service × environment: set on every target Prometheus scrapes
 * for it (prometheus.yml) and on the rules' own series (rules/coopctl.yml). A change silences exactly these.
 */
export function serviceLabels(t: { service: string; env: string }): { service: string; env: string } {
  return { service: t.service, env: t.env };
}
