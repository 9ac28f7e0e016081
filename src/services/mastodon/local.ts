import { hostVar } from '../../config/inventory.js';
import { RemoteError, ToolOutputError } from '../../kernel/errors.js';
import type { Target } from '../../targets/target.js';

/**
 * HTTP requests made on the Mastodon host itself, to the web and streaming
 * processes on the ports the playbook publishes them on (mastodon_web_bind /
 * _port, mastodon_streaming_bind / _port). The public URL goes through nginx,
 * whose proxy_cache serves /api/v2/instance for minutes and stale copies while
 * the app is down; these requests bypass it. They run with the host's python3,
 * which every host Ansible manages has, with proxies from the environment off.
 */
const SCRIPT = `import json, sys, time, urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
timeout = float(sys.argv[1])
for url in sys.argv[2:]:
    started = time.monotonic()
    try:
        with opener.open(url, timeout=timeout) as r:
            status, body = r.status, r.read(262144)
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read(262144)
    except Exception as e:
        status, body = 0, str(getattr(e, "reason", e)).encode()
    ms = (time.monotonic() - started) * 1000
    print(json.dumps({"status": status, "ms": ms, "body": body.decode("utf-8", "replace")}), flush=True)
`;

export interface LocalAnswer {
  /** 0: no answer (the message is in body). */
  status: number;
  body: string;
  ms: number;
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

/** GETs of `urls`, in order, on the host; throws only when the host cannot run them. */
export async function localGet(t: Target, urls: string[], timeoutMs: number): Promise<LocalAnswer[]> {
  // The script on stdin: `-v` then shows the requests, not the program.
  const argv = ['python3', '-', String(timeoutMs / 1000), ...urls];
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
