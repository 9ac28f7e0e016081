import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../../src/kernel/process.js';
import type { RemoteCommand } from '../../../src/remote/quote.js';
import type { ExecOptions } from '../../../src/remote/ssh.js';
import { instanceVersion, mastodonHealth } from '../../../src/services/mastodon/host.js';
import { instanceHost, instanceHostOf, localGet } from '../../../src/services/mastodon/local.js';
import { verificationRequestsCheck } from '../../../src/services/mastodon/requestsCheck.js';
import { verifyMastodon } from '../../../src/services/mastodon/verify.js';
import type { CheckContext, Target } from '../../../src/targets/target.js';
import { LocalHost } from '../../helpers/localHost.js';

/**
 * The requests coopctl makes on a Mastodon host (python3 there, run here through a local shell) against a
 * real HTTP server that answers as production's Rails does when a request lacks the instance's Host or
 * X-Forwarded-Proto: https (403 / 301; the whole behaviour is the sandbox stand-in's, test/doubles).
 */

/** A LocalHost that keeps what each command printed, to show what left the "host". */
class RecordingHost extends LocalHost {
  readonly runs: Array<{ argv: readonly string[]; stdout: string }> = [];
  override async exec(cmd: RemoteCommand, opts: ExecOptions): Promise<RunResult> {
    const r = await super.exec(cmd, opts);
    this.runs.push({ argv: Array.isArray(cmd) ? cmd : [String(cmd)], stdout: r.stdout });
    return r;
  }
}

interface Seen {
  path: string;
  host?: string;
  proto?: string;
}

const ENV = `# Mastodon settings
LOCAL_DOMAIN=example.coop
WEB_DOMAIN="social.example.coop"   # the web app's name
SECRET_KEY_BASE=0123456789abcdef-secret
DB_PASS=hunter2-secret
`;

let server: http.Server;
let base: string;
const seen: Seen[] = [];
/** How the server answers the timeline (the other paths answer as a healthy Mastodon). */
let timelineStatus = 200;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ path: url.pathname, host: req.headers.host, proto: req.headers['x-forwarded-proto'] as string });
    if (url.pathname === '/health') return void res.end('OK');
    // the streaming server checks neither Host nor https (mastodon/mastodon streaming/index.js)
    if (url.pathname === '/api/v1/streaming/health') return void res.end('OK');
    if (url.pathname === '/moved') return void res.writeHead(301, { location: 'https://example.coop/moved' }).end();
    if (req.headers.host !== 'social.example.coop') return void res.writeHead(403).end('<h1>Blocked host: x</h1>');
    if (req.headers['x-forwarded-proto'] !== 'https') {
      return void res.writeHead(301, { location: `https://social.example.coop${req.url}` }).end();
    }
    if (url.pathname === '/api/v2/instance') return void res.end(JSON.stringify({ version: '4.4.8' }));
    if (url.pathname.startsWith('/api/v1/timelines')) return void res.writeHead(timelineStatus).end('[]');
    res.writeHead(200).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function target(env: string | null): { t: Target; remote: RecordingHost; dataDir: string } {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-mastodon-'));
  if (env !== null) writeFileSync(path.join(dataDir, '.env.production'), env, { mode: 0o600 });
  const remote = new RecordingHost();
  const port = String((server.address() as AddressInfo).port);
  const t = {
    service: 'mastodon',
    env: 'alpha',
    host: { name: 'pando', vars: { mastodon_web_port: port, mastodon_streaming_port: port } },
    paths: { dataDir },
    remote,
    envConfig: {
      health: { url: base, timeout: 500, requestTimeout: 2_000, latencyMs: 2_000, requests: 4 },
    },
  } as unknown as Target;
  return { t, remote, dataDir };
}

describe("the instance's name, from .env.production on the host", () => {
  it('WEB_DOMAIN when set (the web host of 1_hosts.rb), else LOCAL_DOMAIN; quotes, export and comments as in dotenv', () => {
    expect(instanceHostOf('LOCAL_DOMAIN=social.coop\n', 'f')).toBe('social.coop');
    expect(instanceHostOf(ENV, 'f')).toBe('social.example.coop');
    expect(instanceHostOf("export LOCAL_DOMAIN = 'a.coop' # x\nWEB_DOMAIN=\n", 'f')).toBe('a.coop');
    expect(instanceHostOf('LOCAL_DOMAIN=old.coop\nLOCAL_DOMAIN=new.coop:8443\n', 'f')).toBe('new.coop:8443');
  });

  it('no LOCAL_DOMAIN, or one that is no domain name, is an error naming the file on the host', () => {
    expect(() => instanceHostOf('WEB_DOMAIN=social.coop\n', 'pando:/opt/social.coop/.env.production')).toThrow(
      /^pando:\/opt\/social\.coop\/\.env\.production has no LOCAL_DOMAIN/,
    );
    expect(() => instanceHostOf('LOCAL_DOMAIN=\n', 'f')).toThrow(/has no LOCAL_DOMAIN/);
    expect(() => instanceHostOf('LOCAL_DOMAIN=a.coop/x y\n', 'f')).toThrow(/LOCAL_DOMAIN is not a domain name/);
  });

  it('is read once per run with grep: no other line of the file leaves the host', async () => {
    const { t, remote, dataDir } = target(ENV);
    expect(await Promise.all([instanceHost(t), instanceHost(t)])).toEqual([
      'social.example.coop',
      'social.example.coop',
    ]);
    await localGet(t, [`${base}/health`], 2_000);
    const reads = remote.runs.filter((r) => r.argv[0] === 'grep');
    expect(reads).toHaveLength(1);
    expect(reads[0].argv.at(-1)).toBe(path.join(dataDir, '.env.production'));
    expect(reads[0].stdout).not.toMatch(/secret|hunter2/);
    expect(remote.runs.map((r) => r.stdout).join('')).not.toMatch(/secret|hunter2/);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a missing LOCAL_DOMAIN stops the request with that error; a missing file names the file', async () => {
    const { t, dataDir } = target('SECRET_KEY_BASE=x\n');
    await expect(instanceVersion(t)).rejects.toThrow(`pando:${dataDir}/.env.production has no LOCAL_DOMAIN`);
    const none = target(null);
    await expect(localGet(none.t, [`${base}/health`], 2_000)).rejects.toThrow(
      `pando: cannot read LOCAL_DOMAIN from ${none.dataDir}/.env.production`,
    );
  });
});

describe('requests on the host', () => {
  it('carry the Host and X-Forwarded-Proto: https that the proxy sends, to web and streaming alike', async () => {
    const { t } = target(ENV);
    seen.length = 0;
    expect(await instanceVersion(t)).toBe('4.4.8');
    expect(await mastodonHealth(t)).toMatchObject({ healthy: true });
    expect(seen.length).toBe(3);
    for (const s of seen) expect(s).toMatchObject({ host: 'social.example.coop', proto: 'https' });
  });

  it('see a redirect as a redirect: never followed, never a good answer', async () => {
    const { t } = target(ENV);
    seen.length = 0;
    const [moved] = await localGet(t, [`${base}/moved`], 2_000);
    expect(moved).toMatchObject({ status: 301, location: 'https://example.coop/moved' });
    expect(seen.map((s) => s.path)).toEqual(['/moved']);
  });

  it('a 3xx or 4xx is never a version: the instance API must answer 200', async () => {
    const { t } = target('LOCAL_DOMAIN=other.coop\n');
    await expect(instanceVersion(t)).rejects.toThrow(/instance API answered HTTP 403 \(blocked host: /);
    expect(await mastodonHealth(t)).toMatchObject({ healthy: true });
  });

  it('verification fails when an API request answers 4xx, naming it; passes when all answer 2xx', async () => {
    const { t } = target(ENV);
    timelineStatus = 422;
    try {
      const bad = await verifyMastodon(t, '4.4.8', { intervalMs: 100 });
      expect(bad.ok).toBe(false);
      const requests = bad.checks.find((c) => c.id === 'requests');
      expect(requests?.ok).toBe(false);
      expect(requests?.message).toMatch(/0 answered 5xx, 2 3xx\/4xx, 0 no answer \(\/api\/v1\/timelines\/public/);
      expect(requests?.message).toContain('HTTP 422');
    } finally {
      timelineStatus = 200;
    }
    const good = await verifyMastodon(t, '4.4.8', { intervalMs: 100 });
    expect(good.checks.filter((c) => !c.ok)).toEqual([]);
    expect(good.ok).toBe(true);
  });

  it("a patch's effect is not read from a refused instance API", async () => {
    const { t } = target('LOCAL_DOMAIN=other.coop\n');
    const r = await verifyMastodon(t, '4.4.8', {
      intervalMs: 100,
      expectations: [{ patch: 'p', instanceApi: { path: 'version', equals: '4.4.8' } }],
    });
    expect(r.checks.find((c) => c.id === 'patches')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^\/api\/v2\/instance: HTTP 403/),
    });
  });
});

describe("preflight's verification-requests check", () => {
  const run = (t: Target) =>
    verificationRequestsCheck.run({ target: t, allowPrerelease: false } as unknown as CheckContext);

  it('fails before a change when the instance closes a request verification would count (timeline preview off)', async () => {
    const { t } = target(ENV);
    timelineStatus = 422;
    try {
      const r = await run(t);
      expect(r.status).toBe('fail');
      expect(r.message).toContain('/api/v1/timelines/public?limit=5: HTTP 422');
      expect(r.fix).toContain('services.mastodon.environments.alpha.health.requestPaths');
    } finally {
      timelineStatus = 200;
    }
    expect(await run(t)).toMatchObject({ status: 'pass', message: '4 paths answer 2xx on the running version' });
  });

  it('health.requestPaths replaces the list that verification and the check ask', async () => {
    const { t } = target(ENV);
    t.envConfig.health!.requestPaths = ['/api/v2/instance', '/api/v1/custom_emojis'];
    timelineStatus = 422;
    try {
      expect(await run(t)).toMatchObject({ status: 'pass', message: '2 paths answer 2xx on the running version' });
      seen.length = 0;
      const v = await verifyMastodon(t, '4.4.8', { intervalMs: 100 });
      expect(v.ok).toBe(true);
      expect(seen.some((s) => s.path.startsWith('/api/v1/timelines'))).toBe(false);
      expect(seen.filter((s) => s.path === '/api/v1/custom_emojis')).toHaveLength(2);
    } finally {
      timelineStatus = 200;
    }
  });
});
