import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { promisify } from 'node:util';
import { pgEnv } from '../world/postgres.js';
import { faultActive, loadStandinConfig, readJson, standinPaths, type StandinConfig } from './mastodon/config.js';
import { imageApiVersion, imageMaxChars, imageVersion } from './mastodon/images.js';
import { hostCluster } from './mastodon/migrations.js';
import { railsGate } from './mastodon/railsGate.js';
import type { WebLaunch } from './mastodon/webProcess.js';

/**
 * The web and streaming containers of a sandbox host: answers the
 * endpoints coopctl's verification uses, from the running image's tree and
 * the host's database. Started detached by `docker compose up`.
 *
 * The web process answers as production's Rails does: a request whose Host is not the instance's gets 403 and
 * one that is not https (no `X-Forwarded-Proto: https` from the proxy) a redirect, /health exempt from both
 * (./mastodon/railsGate.ts has the sources).
 * source: the streaming server checks neither, mastodon/mastodon streaming/index.js registers
 * `app.get('/api/v1/streaming/health')` before its authentication middleware
 * and has no host or https check at all.
 */
const execFileP = promisify(execFile);

interface Site {
  root: string;
  cfg: StandinConfig;
  /** The web process's environment: what config.hosts and the domain come from. */
  env: Record<string, string>;
  domain: string;
  version: string;
  apiVersion?: number;
  maxChars: number;
  database: string;
}

/** Rails' default for a response that sets no caching: proxies must not keep it. */
const PRIVATE = 'max-age=0, private, must-revalidate';
/** What Mastodon's render_with_cache sends for the instance API (and keeps in Rails.cache as long). */
const INSTANCE_CACHE = 'max-age=180, public';

function send(res: http.ServerResponse, status: number, body: unknown, cacheControl = PRIVATE): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': cacheControl,
    server: 'Mastodon',
  });
  res.end(text);
}

function instanceV2(s: Site) {
  return {
    domain: s.domain,
    title: s.domain,
    version: s.version,
    source_url: 'https://github.com/mastodon/mastodon',
    description: `${s.domain} (coopctl sandbox)`,
    usage: { users: { active_month: 0 } },
    languages: ['en'],
    configuration: {
      urls: { streaming: `wss://${s.domain}` },
      accounts: { max_featured_tags: 10, max_pinned_statuses: 5 },
      statuses: { max_characters: s.maxChars, max_media_attachments: 4, characters_reserved_per_url: 23 },
      media_attachments: { image_size_limit: 16777216, video_size_limit: 103809024 },
      polls: { max_options: 4, max_characters_per_option: 50, min_expiration: 300, max_expiration: 2629746 },
      translation: { enabled: false },
    },
    registrations: { enabled: false, approval_required: true, message: null },
    ...(s.apiVersion !== undefined ? { api_versions: { mastodon: s.apiVersion } } : {}),
    contact: { email: `admin@${s.domain}`, account: null },
    rules: [],
  };
}

function instanceV1(s: Site) {
  return {
    uri: s.domain,
    domain: s.domain,
    title: s.domain,
    version: s.version,
    email: `admin@${s.domain}`,
    urls: { streaming_api: `wss://${s.domain}` },
    configuration: {
      statuses: { max_characters: s.maxChars, max_media_attachments: 4, characters_reserved_per_url: 23 },
    },
    registrations: false,
    approval_required: true,
  };
}

async function query(s: Site, sql: string): Promise<unknown> {
  const { stdout } = await execFileP('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', s.database, '-c', sql], {
    env: { ...process.env, ...pgEnv(hostCluster(s.root, s.cfg)) },
    timeout: 10_000,
  });
  return JSON.parse(stdout);
}

/**
 * mastodon/mastodon app/controllers/api/v1/instances/peers_controller.rb: the domains the instance knows, public
 * for a day; 404 only when an admin turned the peers API off (Setting.peers_api_enabled, on by default in
 * config/settings.yml) or in limited federation mode, which social.coop does not run.
 */
function peers(s: Site): Promise<unknown> {
  return query(s, "SELECT coalesce(json_agg(DISTINCT domain), '[]') FROM accounts WHERE domain IS NOT NULL");
}

function publicTimeline(s: Site, limitParam: string | null): Promise<unknown> {
  const limit = Math.min(40, Math.max(1, Number.parseInt(limitParam ?? '20', 10) || 20));
  const sql = `SELECT coalesce(json_agg(t), '[]') FROM (
    SELECT s.id::text AS id, to_char(s.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
      'public' AS visibility, coalesce(s.language, 'en') AS language, s.uri, s.text AS content,
      json_build_object('id', a.id::text, 'username', a.username,
        'acct', CASE WHEN a.domain IS NULL THEN a.username ELSE a.username || '@' || a.domain END,
        'display_name', a.display_name) AS account
    FROM statuses s JOIN accounts a ON a.id = s.account_id
    WHERE s.visibility = 0 ORDER BY s.id DESC LIMIT ${limit}) t`;
  return query(s, sql);
}

/**
 * /api/v1/streaming/* on the web process: mastodon/mastodon app/controllers/api/v1/streaming_controller.rb
 * (4.2+) redirects (301) to the streaming base URL (STREAMING_API_BASE_URL, else wss://WEB_DOMAIN: 1_hosts.rb:22-28)
 * unless its host and port are the request's (port 80 when the URL names none), else 404. Behind
 * X-Forwarded-Proto: https the request's port is 443, so production redirects.
 */
function streamingOnWeb(s: Site, req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
  const base = new URL(s.env.STREAMING_API_BASE_URL || `wss://${s.env.WEB_DOMAIN || s.domain}`);
  const [host, port] = (req.headers.host ?? '').split(':');
  const requestPort = port ? Number(port) : 443;
  if (host === base.hostname && requestPort === (Number(base.port) || 80)) {
    send(res, 404, { error: 'Record not found' });
    return;
  }
  res.writeHead(301, { location: `https://${base.host}${url.pathname}${url.search}`, 'content-length': 0 });
  res.end();
}

/** The local account of that username (Account.find_local!: case-insensitive), or undefined. */
async function localAccount(s: Site, username: string): Promise<{ username: string; bot: boolean } | undefined> {
  if (!/^[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?$/i.test(username)) return undefined;
  const rows = (await query(
    s,
    `SELECT coalesce(json_agg(json_build_object('username', username)), '[]') FROM accounts
      WHERE domain IS NULL AND lower(username) = lower('${username}')`,
  )) as Array<{ username: string }>;
  return rows[0] && { username: rows[0].username, bot: false };
}

/**
 * mastodon/mastodon app/controllers/well_known/webfinger_controller.rb (0486db9): `acct:USER@DOMAIN` (or USER) of a
 * local account, `expires_in 3.days, public`, content_type application/jrd+json, 400 without `resource`, 404 for
 * no such account; app/serializers/webfinger_serializer.rb: subject, aliases, and the links (profile page, `self`
 * as application/activity+json at account_url = https://DOMAIN/users/USER, the subscribe template).
 */
async function webfinger(s: Site, res: http.ServerResponse, url: URL): Promise<void> {
  const resource = url.searchParams.get('resource');
  if (!resource) return send(res, 400, '', 'max-age=180, public');
  const [user, domain] = resource.replace(/^acct:/, '').split('@');
  const account = domain === undefined || domain === s.domain ? await localAccount(s, user) : undefined;
  if (!account) return send(res, 404, '', 'max-age=180, public');
  const base = `https://${s.domain}`;
  const body = JSON.stringify({
    subject: `acct:${account.username}@${s.domain}`,
    aliases: [`${base}/@${account.username}`, `${base}/users/${account.username}`],
    links: [
      { rel: 'http://webfinger.net/rel/profile-page', type: 'text/html', href: `${base}/@${account.username}` },
      { rel: 'self', type: 'application/activity+json', href: `${base}/users/${account.username}` },
      { rel: 'http://ostatus.org/schema/1.0/subscribe', template: `${base}/authorize_interaction?uri={uri}` },
    ],
  });
  res.writeHead(200, {
    'content-type': 'application/jrd+json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'max-age=259200, public',
    server: 'Mastodon',
  });
  res.end(body);
}

/**
 * /users/USER: app/controllers/accounts_controller.rb `format.json` (Accept application/activity+json, which
 * config/initializers/mime_types.rb registers as JSON) renders ActivityPub::ActorSerializer, content_type
 * application/activity+json, `expires_in 3.minutes, public`, `Vary: Accept...`; otherwise the HTML profile page.
 * The `federation-fails` fault serves the HTML page whatever the Accept header says: what a cache in front that
 * ignores Vary: Accept hands a remote server.
 */
async function actor(s: Site, req: http.IncomingMessage, res: http.ServerResponse, user: string): Promise<void> {
  const account = await localAccount(s, user);
  if (!account) return send(res, 404, { error: 'Record not found' });
  const wantsJson = /application\/(activity\+json|ld\+json|json)/.test(req.headers.accept ?? '');
  const id = `https://${s.domain}/users/${account.username}`;
  if (!wantsJson || faultActive(s.root, 'federation-fails')) {
    const page = `<!DOCTYPE html><html><head><title>${account.username}</title></head><body></body></html>`;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': PRIVATE,
      vary: 'Accept, Accept-Language, Cookie',
    });
    return void res.end(page);
  }
  const body = JSON.stringify({
    '@context': ['https://www.w3.org/ns/activitystreams', 'https://w3id.org/security/v1'],
    id,
    type: account.bot ? 'Service' : 'Person',
    following: `${id}/following`,
    followers: `${id}/followers`,
    inbox: `${id}/inbox`,
    outbox: `${id}/outbox`,
    preferredUsername: account.username,
    url: `https://${s.domain}/@${account.username}`,
    endpoints: { sharedInbox: `https://${s.domain}/inbox` },
  });
  res.writeHead(200, {
    'content-type': 'application/activity+json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'max-age=180, public',
    vary: 'Accept, Accept-Language, Cookie',
    server: 'Mastodon',
  });
  res.end(body);
}

async function handleWeb(s: Site, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const gate = railsGate(s.env, req);
  if (gate) {
    res.writeHead(gate.status, gate.headers);
    return void res.end(gate.body);
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const failing = faultActive(s.root, 'health-fails');
  if (url.pathname.startsWith('/api/v1/streaming/')) return streamingOnWeb(s, req, res, url);
  const user = /^\/users\/([^/]+)$/.exec(url.pathname);
  if (user) return actor(s, req, res, decodeURIComponent(user[1]));
  switch (url.pathname) {
    case '/health':
      return failing ? send(res, 503, 'Service Unavailable') : send(res, 200, 'OK');
    case '/.well-known/webfinger':
      return webfinger(s, res, url);
    case '/api/v2/instance':
      return send(res, 200, instanceV2(s), INSTANCE_CACHE);
    case '/api/v1/instance':
      return send(res, 200, instanceV1(s), INSTANCE_CACHE);
    case '/api/v1/instance/peers':
      return send(res, 200, await peers(s), 'max-age=86400, public');
    case '/api/v1/timelines/public':
      if (failing) return send(res, 503, { error: 'Service Unavailable' });
      try {
        return send(res, 200, await publicTimeline(s, url.searchParams.get('limit')));
      } catch (err) {
        process.stderr.write(`timeline query failed: ${(err as Error).message}\n`);
        return send(res, 500, { error: "We're sorry, but something went wrong on our end." });
      }
    default:
      return send(res, 404, { error: 'Record not found' });
  }
}

function handleStreaming(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/api/v1/streaming/health') send(res, 200, 'OK');
  else send(res, 401, { error: 'Missing access token' });
}

function listen(server: http.Server, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
}

async function main(root: string): Promise<void> {
  const cfg = loadStandinConfig(root);
  const p = standinPaths(root);
  const launch = readJson<WebLaunch | undefined>(p.webLaunch, undefined);
  if (!launch) throw new Error(`${p.webLaunch} is missing: start the web stand-in through docker compose up`);
  const site: Site = {
    root,
    cfg,
    env: launch.env,
    // 1_hosts.rb:3-4: without LOCAL_DOMAIN, Mastodon's domain is localhost:$PORT
    domain: launch.env.LOCAL_DOMAIN ?? `localhost:${launch.env.PORT ?? '3000'}`,
    version: imageVersion(launch.imageDir, launch.env),
    apiVersion: imageApiVersion(launch.imageDir),
    maxChars: imageMaxChars(launch.imageDir),
    database: launch.env.DB_NAME || cfg.postgres.database,
  };
  const servers: http.Server[] = [];
  const web = http.createServer((req, res) => {
    handleWeb(site, req, res).catch((err) => send(res, 500, { error: (err as Error).message }));
  });
  await listen(web, cfg.web.address, cfg.web.port);
  servers.push(web);
  if (cfg.streaming && launch.streamingImage) {
    const streaming = http.createServer(handleStreaming);
    await listen(streaming, cfg.streaming.address, cfg.streaming.port);
    servers.push(streaming);
  }
  const stop = () => {
    for (const s of servers) s.close();
    for (const s of servers) s.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  writeFileSync(p.webPid, `${process.pid}\n`);
  process.stdout.write(
    `${new Date().toISOString()} Mastodon ${site.version} (${launch.image}) listening on ${cfg.web.address}:${cfg.web.port}\n`,
  );
}

main(process.argv[2] ?? process.env.COOPCTL_SANDBOX_ROOT ?? '').catch((err) => {
  process.stderr.write(`${new Date().toISOString()} ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
