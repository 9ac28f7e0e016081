import { ANSWERED, type PublicProbe } from '../targets/publicProbe.js';

/** A blackbox exporter module: the probe's claim as the exporter's http prober checks it. */
interface HttpModule {
  prober: 'http';
  http: {
    method: 'GET';
    valid_status_codes: number[];
    /** Redirects are never followed: coopctl's own checks do not follow them either. */
    follow_redirects: false;
    fail_if_body_not_matches_regexp?: string[];
  };
}

/** The module a probe needs, named by what it checks (`http_answers`, `http_200_body_ok`). */
export function moduleName(p: PublicProbe): string {
  const statuses = p.statuses === ANSWERED ? 'answers' : p.statuses.join('_');
  const body = p.body === undefined ? '' : `_body_${p.body.toLowerCase().replace(/\W+/g, '_')}`;
  return `http_${statuses}${body}`;
}

const regexpQuote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// source: prometheus/blackbox_exporter CONFIGURATION.md (0.23): <http_probe> valid_status_codes, follow_redirects
// (of its http_client_config), fail_if_body_not_matches_regexp
function httpModule(p: PublicProbe): HttpModule {
  return {
    prober: 'http',
    http: {
      method: 'GET',
      valid_status_codes: [...p.statuses],
      follow_redirects: false,
      // the body trimmed, as probeHolds judges it
      ...(p.body !== undefined && { fail_if_body_not_matches_regexp: [`^\\s*${regexpQuote(p.body)}\\s*$`] }),
    },
  };
}

/** blackbox.yml: one module per kind of probe the plan uses. */
export function blackboxConfig(probes: readonly PublicProbe[]): { modules: Record<string, HttpModule> } {
  return { modules: Object.fromEntries(probes.map((p) => [moduleName(p), httpModule(p)])) };
}
