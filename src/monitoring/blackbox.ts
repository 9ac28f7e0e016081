import { ANSWERED, type PublicProbe, regexpQuote } from '../targets/publicProbe.js';

/** A blackbox exporter module: the probe's claim as the exporter's http prober checks it. */
interface HttpModule {
  prober: 'http';
  http: {
    method: 'GET';
    valid_status_codes: number[];
    /** Redirects are never followed: coopctl's own checks do not follow them either. */
    follow_redirects: false;
    fail_if_body_not_matches_regexp?: string[];
    headers?: Record<string, string>;
  };
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/\W+/g, '_')
    .replace(/^_+|_+$/g, '');

/**
 * The module a probe needs, named by what it checks (`http_answers`, `http_200_body_ok`); a probe whose body
 * patterns or headers are its own (WebFinger names its account and domain) gets a module of its own.
 */
export function moduleName(p: PublicProbe): string {
  const statuses = p.statuses === ANSWERED ? 'answers' : p.statuses.join('_');
  const body = p.body === undefined ? '' : `_body_${slug(p.body)}`;
  const u = new URL(p.url);
  const own = p.bodyMatches || p.headers ? `_${p.name}_${slug(decodeURIComponent(u.search) || u.host)}` : '';
  return `http_${statuses}${body}${own}`;
}

// source: prometheus/blackbox_exporter CONFIGURATION.md (0.23): <http_probe> valid_status_codes, follow_redirects
// (of its http_client_config), fail_if_body_not_matches_regexp, headers
function httpModule(p: PublicProbe): HttpModule {
  const patterns = [
    // the body trimmed, as probeHolds judges it
    ...(p.body !== undefined ? [`^\\s*${regexpQuote(p.body)}\\s*$`] : []),
    ...(p.bodyMatches ?? []),
  ];
  return {
    prober: 'http',
    http: {
      method: 'GET',
      valid_status_codes: [...p.statuses],
      follow_redirects: false,
      ...(patterns.length && { fail_if_body_not_matches_regexp: patterns }),
      ...(p.headers && { headers: { ...p.headers } }),
    },
  };
}

/** blackbox.yml: one module per kind of probe the plan uses. */
export function blackboxConfig(probes: readonly PublicProbe[]): { modules: Record<string, HttpModule> } {
  return { modules: Object.fromEntries(probes.map((p) => [moduleName(p), httpModule(p)])) };
}
