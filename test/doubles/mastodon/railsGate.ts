import type http from 'node:http';

/**
 * The two Rack middlewares in front of every request to Mastodon's web process in production, in the order
 * Rails stacks them (rails/rails railties/lib/rails/application/default_middleware_stack.rb:16-27 at 2a2db1e:
 * HostAuthorization, then SSL): what a request must carry to reach the app at all.
 *
 * source: Host authorization, mastodon/mastodon config/initializers/1_hosts.rb (03544d1):
 * - :4 LOCAL_DOMAIN, else `localhost:$PORT` (PORT default 3000); :5 WEB_DOMAIN, else LOCAL_DOMAIN;
 *   :7 ALTERNATE_DOMAINS split on /\s*,\s*\/. :45-47 each non-empty one joins config.hosts.
 * - :48 `exclude: request.path == '/health'`: /health alone is exempt (not /health/x, not /healthz).
 * - :31-43 the answer is 403, text/html, the page app/views/errors/blocked_host.html.haml ("Blocked host: HOST",
 *   HOST being request.host: no port, from X-Forwarded-Host when set).
 * Rails' side, actionpack/lib/action_dispatch/middleware/host_authorization.rb (2a2db1e):
 * - :136-137 no hosts at all (every variable set but empty): no check.
 * - :152-160 the Host header must be allowed, and so must the last X-Forwarded-Host when one is sent.
 * - :75-81 a name matches case-insensitively, with any port when it names none; one that names a port (a
 *   LOCAL_DOMAIN of `example.com:3000`) matches that port only (older Rails also took `:3000:N`; this is
 *   the harsher reading).
 *
 * https, mastodon/mastodon config/environments/production.rb (4.3+, :36-43): `config.force_ssl = true`,
 * `config.assume_ssl` left commented out (:33), and the redirect excludes paths that start with /health and
 * Host headers ending in .onion or .i2p. Rails, actionpack/lib/action_dispatch/middleware/ssl.rb (2a2db1e):
 * - :92-103 a request that is not https is redirected; :164-172 301 for GET and HEAD, else the app's default
 *   (308 since Rails 6.1's defaults); :157-162 text/html, empty body; :174-181 Location
 *   `https://HOST[:PORT]FULLPATH`, the port left out when 80 or 443.
 * Whether a request is https comes from rack/rack lib/rack/request.rb (8bf4eb0): :338 scheme, :848-872
 * forwarded_scheme: X-Forwarded-Ssl: on, else the LAST of X-Forwarded-Proto's values that is http or https,
 * else X-Forwarded-Scheme. (RFC 7239 `Forwarded: proto=` is read first there; this stand-in ignores it, the
 * harsher reading: nginx's dist/nginx.conf does not send it.) :351 authority is the last X-Forwarded-Host,
 * else Host; :439-444 its port, else X-Forwarded-Port, else the scheme's default.
 */
export interface GateAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The names config.hosts holds for this environment (1_hosts.rb:3-7, :45-47). */
export function allowedHosts(env: Record<string, string | undefined>): string[] {
  const host = env.LOCAL_DOMAIN ?? `localhost:${env.PORT ?? '3000'}`;
  const webHost = env.WEB_DOMAIN ?? host;
  const alternates = (env.ALTERNATE_DOMAINS ?? '').split(/\s*,\s*/);
  return [host, webHost, ...alternates].filter((h) => h !== '');
}

function allows(allowed: string[], host: string | undefined): boolean {
  if (host === undefined) return false;
  const h = host.toLowerCase();
  return allowed.some((a) => {
    const name = a.toLowerCase();
    return h === name || (!/:\d+$/.test(name) && h.startsWith(`${name}:`) && /^\d+$/.test(h.slice(name.length + 1)));
  });
}

const header = (req: http.IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};
const lastOf = (v: string | undefined, split: RegExp) => v?.trim().split(split).filter(Boolean).at(-1);

function isHttps(req: http.IncomingMessage): boolean {
  if (header(req, 'x-forwarded-ssl') === 'on') return true;
  const schemes = (v: string | undefined) =>
    (v ?? '')
      .trim()
      .split(/[, \t]+/)
      .filter((s) => s === 'http' || s === 'https');
  const proto = schemes(header(req, 'x-forwarded-proto')).at(-1) ?? schemes(header(req, 'x-forwarded-scheme')).at(-1);
  return proto === 'https';
}

/** Rack's authority: the last X-Forwarded-Host, else Host; split into name and port. */
function authority(req: http.IncomingMessage): { host: string; port?: number } {
  const a = lastOf(header(req, 'x-forwarded-host'), /[, \t]+/) ?? header(req, 'host') ?? '';
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(a);
  return { host: m?.[1] ?? a, port: m?.[2] ? Number(m[2]) : undefined };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function blockedHost(host: string): GateAnswer {
  const h = escapeHtml(host);
  const body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Blocked host: ${h}</title></head><body>
<h1>Blocked host: ${h}</h1>
<p>It appears you have tried accessing this Mastodon server using a different name (<code>${h}</code>) than defined
in its configuration. If you are a user of this server, try reaching out to a server administrator.</p>
<p>If you are the server administrator and <code>${h}</code> is the intended domain name for this server, please
check the <code>LOCAL_DOMAIN</code> and <code>WEB_DOMAIN</code> environment variables for typos or other errors.</p>
</body></html>
`;
  return {
    status: 403,
    headers: { 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) },
    body,
  };
}

/**
 * What the middlewares answer before the app sees the request; undefined when it reaches the app.
 * `env` is the web process's environment (its env_file and environment).
 */
export function railsGate(env: Record<string, string | undefined>, req: http.IncomingMessage): GateAnswer | undefined {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const allowed = allowedHosts(env);
  if (allowed.length > 0 && url.pathname !== '/health') {
    const forwarded = lastOf(header(req, 'x-forwarded-host'), /,\s?/);
    if (!allows(allowed, header(req, 'host')) || (forwarded !== undefined && !allows(allowed, forwarded))) {
      return blockedHost(authority(req).host);
    }
  }
  const hostHeader = header(req, 'host') ?? '';
  const exempt = url.pathname.startsWith('/health') || hostHeader.endsWith('.onion') || hostHeader.endsWith('.i2p');
  if (isHttps(req) || exempt) return undefined;
  const { host, port } = authority(req);
  const p = port ?? (Number(lastOf(header(req, 'x-forwarded-port'), /[, \t]+/)) || 80);
  const location = `https://${host}${p === 80 || p === 443 ? '' : `:${p}`}${url.pathname}${url.search}`;
  const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
  return { status, headers: { 'content-type': 'text/html; charset=utf-8', location }, body: '' };
}
