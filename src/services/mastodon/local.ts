import { Memo } from '../../kernel/memo.js';
import path from 'node:path/posix';
import { hostVar } from '../../config/inventory.js';
import { RemoteError, ToolOutputError } from '../../kernel/errors.js';
import type { RemoteHost } from '../../remote/ssh.js';
import type { Target } from '../../targets/target.js';

/**
 * HTTP requests made on the Mastodon host itself, to the web and streaming
 * processes on the ports the playbook publishes them on (mastodon_web_bind /
 * _port, mastodon_streaming_bind / _port). The public URL goes through nginx,
 * whose proxy_cache serves /api/v2/instance for minutes and stale copies while
 * the app is down; these requests bypass it. They run with the host's python3,
 * which every host Ansible manages has, with proxies from the environment off.
 *
 * They carry what nginx adds in front of production's Rails: the instance's
 * Host (config/initializers/1_hosts.rb answers 403 to any other name, /health
 * alone exempt) and `X-Forwarded-Proto: https` (config.force_ssl redirects
 * plain http). A redirect is an answer of its own, never followed.
 */
const SCRIPT = `import json, sys, time, urllib.error, urllib.request
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
timeout, host = float(sys.argv[1]), sys.argv[2]
for url in sys.argv[3:]:
    started, location = time.monotonic(), None
    req = urllib.request.Request(url, headers={"Host": host, "X-Forwarded-Proto": "https"})
    try:
        with opener.open(req, timeout=timeout) as r:
            status, body = r.status, r.read(262144)
    except urllib.error.HTTPError as e:
        status, body, location = e.code, e.read(262144), e.headers.get("Location")
    except Exception as e:
        status, body = 0, str(getattr(e, "reason", e)).encode()
    ms = (time.monotonic() - started) * 1000
    answer = {"status": status, "ms": ms, "body": body.decode("utf-8", "replace")}
    if location:
        answer["location"] = location
    print(json.dumps(answer), flush=True)
`;

export interface LocalAnswer {
  /** 0: no answer (the message is in body). */
  status: number;
  body: string;
  ms: number;
  /** A redirect's Location. */
  location?: string;
}

/** Only a 2xx is a good answer on the host: a redirect or a refusal means the request never reached the app. */
export const answeredOk = (r: LocalAnswer): boolean => r.status >= 200 && r.status < 300;

/** What an answer was, for a message: `HTTP 403`, `HTTP 301 to https://...`, or why there was none. */
export function describeAnswer(r: LocalAnswer): string {
  if (r.status === 0) return r.body;
  const hint =
    r.status === 403 && /Blocked host/i.test(r.body)
      ? ' (blocked host: the Host coopctl sends is not LOCAL_DOMAIN, WEB_DOMAIN or ALTERNATE_DOMAINS)'
      : '';
  return `HTTP ${r.status}${r.location ? ` to ${r.location}` : ''}${hint}`;
}

/** The lines of .env.production that name the instance, and nothing else of the file (it holds the secrets). */
const DOMAIN_LINES = '^[[:space:]]*(export[[:space:]]+)?(LOCAL_DOMAIN|WEB_DOMAIN)[[:space:]]*=';

/** A dotenv value: quoted (a comment may follow), or bare up to a ` #` comment. */
function envValue(raw: string): string {
  const v = raw.trim();
  const quoted = /^(["'])(.*?)\1(\s+#.*)?$/.exec(v);
  return quoted ? quoted[2] : v.replace(/\s+#.*$/, '');
}

/** LOCAL_DOMAIN and WEB_DOMAIN as .env.production sets them (the last line of a name wins, as in an env_file). */
export function instanceDomainsOf(lines: string): { local?: string; web?: string } {
  const values: Record<string, string> = {};
  for (const line of lines.split('\n')) {
    const m = /^\s*(?:export\s+)?(LOCAL_DOMAIN|WEB_DOMAIN)\s*=(.*)$/.exec(line);
    if (m) values[m[1]] = envValue(m[2]);
  }
  return { local: values.LOCAL_DOMAIN || undefined, web: values.WEB_DOMAIN || undefined };
}

/**
 * The name the web process answers to, from LOCAL_DOMAIN / WEB_DOMAIN lines of .env.production: WEB_DOMAIN
 * when set (1_hosts.rb's web_host), else LOCAL_DOMAIN.
 */
export function instanceHostOf(lines: string, where: string): string {
  const { local, web } = instanceDomainsOf(lines);
  if (!local) {
    throw new ToolOutputError(
      `${where} has no LOCAL_DOMAIN: coopctl sends it as the Host of its requests to Mastodon on the host, ` +
        'which refuses any other name',
    );
  }
  const host = web || local;
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/.test(host)) {
    const name = web ? 'WEB_DOMAIN' : 'LOCAL_DOMAIN';
    throw new ToolOutputError(`${where}: ${name} is not a domain name: ${JSON.stringify(host.slice(0, 80))}`);
  }
  return host;
}

/** The env file that names the instance, on the host. */
export const instanceEnvFile = (t: Target) => path.join(t.paths.dataDir, '.env.production');

/** Per run (one RemoteHost per host and run), per env file: the instance's host, read once. */
const instanceHosts = new WeakMap<RemoteHost, Memo>();

/** The Host header of every request on the host: read from the host's .env.production once per run. */
export function instanceHost(t: Target): Promise<string> {
  const file = instanceEnvFile(t);
  let byFile = instanceHosts.get(t.remote);
  if (!byFile) instanceHosts.set(t.remote, (byFile = new Memo()));
  return byFile.retrying(file, () =>
    readDomainLines(t).then((lines) => instanceHostOf(lines, `${t.host.name}:${file}`)),
  );
}

/** The LOCAL_DOMAIN / WEB_DOMAIN lines of .env.production on the host, and no other line of it. */
export async function readDomainLines(t: Target): Promise<string> {
  const file = instanceEnvFile(t);
  // grep prints the matching lines only: no other line of the file (its secrets) leaves the host
  const r = await t.remote.exec(['grep', '-E', '--', DOMAIN_LINES, file], {
    mutates: false,
    reject: false,
    timeoutMs: 30_000,
  });
  if (r.exitCode > 1) {
    const why = r.stderr.trim().split('\n').at(-1) || `exit ${r.exitCode}`;
    throw new RemoteError(`${t.host.name}: cannot read LOCAL_DOMAIN from ${file}: ${why}`);
  }
  return r.stdout;
}

/** The web and streaming processes' addresses on the host. */
export function localEndpoints(t: Target): { web: string; streaming: string } {
  const v = (name: string, fallback: string) => hostVar(t.host, name) ?? fallback;
  const url = (bind: string, port: string) => `http://${bind.includes(':') ? `[${bind}]` : bind}:${port}`;
  return {
    web: url(v('mastodon_web_bind', '127.0.0.1'), v('mastodon_web_port', '3000')),
    streaming: url(v('mastodon_streaming_bind', '127.0.0.1'), v('mastodon_streaming_port', '4000')),
  };
}

/** GETs of `urls`, in order, on the host, as the instance's proxy sends them; throws only when they cannot run. */
export async function localGet(t: Target, urls: string[], timeoutMs: number): Promise<LocalAnswer[]> {
  const host = await instanceHost(t);
  // The script on stdin: `-v` then shows the requests, not the program.
  const argv = ['python3', '-', String(timeoutMs / 1000), host, ...urls];
  const r = await t.remote.exec(argv, {
    mutates: false,
    reject: false,
    stdin: SCRIPT,
    timeoutMs: timeoutMs * urls.length + 30_000,
  });
  const lines = r.stdout.split('\n').filter((l) => l.trim());
  if (r.exitCode !== 0 || lines.length !== urls.length) {
    const why = r.stderr.trim().split('\n').at(-1) || `exit ${r.exitCode}`;
    throw new RemoteError(`${t.host.name}: could not query Mastodon on the host with python3: ${why}`);
  }
  try {
    return lines.map((l) => JSON.parse(l) as LocalAnswer);
  } catch {
    throw new ToolOutputError(`${t.host.name}: unexpected output of the request on the host: ${lines[0].slice(0, 80)}`);
  }
}
