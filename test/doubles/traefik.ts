/**
 * The sandbox's "traefik": one loopback HTTP port per Co-op Cloud app,
 * answering 200 with {app, recipe, version} while swarm.json says the app is
 * healthy and no `health-fails` fault is set, 502 otherwise — read per
 * request. The Keycloak app also serves its realm's OIDC discovery (keycloak.ts). Run as `node build/world/test/doubles/traefik.js <root>`.
 */
// source: https://doc.traefik.io/traefik/providers/swarm/ (a service without running/healthy tasks has no server:
// traefik answers 404 or 503) and https://doc.traefik.io/traefik/routing/services/ (an unreachable server: 502).
// The double answers 502 for all of them (any of these fails coopctl's check); the JSON body is the double's own,
// never read by coopctl for the version (that comes from abra app ls).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_VOLUMES } from '../world/coopcloud/volumes.js';
import { hasFault, isHealthy, readSwarm, type SwarmApp } from './abra/swarm.js';
import { volumeMountpoint } from './dockerVolumes.js';
import { keycloakAnswer } from './keycloak.js';

export interface TraefikConfig {
  swarm: string;
  address: string;
  apps: Array<{ domain: string; port: number }>;
}

export const TRAEFIK_CONFIG = 'traefik.json';

interface Reply {
  status: number;
  body: string | Buffer;
  type?: string;
}

// source: https://www.mediawiki.org/wiki/Manual:$wgUploadPath (default "$wgScriptPath/images"; the web server
// serves the uploads as files from $wgUploadDirectory, the image's /var/www/html/images: the app's volume)
/** MediaWiki's `/images/...`: the file in the app's images volume on the server, or 404. */
function wikiUpload(cfg: TraefikConfig, app: SwarmApp, url: string): Reply | undefined {
  const volume = APP_VOLUMES[app.recipe];
  if (app.recipe !== 'mediawiki' || !volume || !url.startsWith('/images/')) return undefined;
  const root = volumeMountpoint(path.dirname(cfg.swarm), `${app.stack}_${volume}`);
  const file = path.join(root, decodeURIComponent(url.slice('/images/'.length).split('?')[0]));
  if (!file.startsWith(`${root}/`)) return { status: 400, body: 'Bad Request' };
  try {
    return { status: 200, body: readFileSync(file), type: 'image/png' };
  } catch {
    return { status: 404, body: 'Not Found', type: 'text/plain' };
  }
}

export function answer(cfg: TraefikConfig, domain: string, url = '/'): Reply {
  const swarm = readSwarm(cfg.swarm);
  const app = swarm.apps[domain];
  if (hasFault(swarm, domain, 'health-fails') || !isHealthy(app)) {
    return { status: 502, body: JSON.stringify({ app: domain, error: 'Bad Gateway' }) };
  }
  const realm = app.recipe === 'keycloak' && keycloakAnswer(domain, url, hasFault(swarm, domain, 'sso-broken'));
  if (realm) return realm;
  const upload = wikiUpload(cfg, app, url);
  if (upload) return upload;
  return { status: 200, body: JSON.stringify({ app: domain, recipe: app.recipe, version: app.version }) };
}

function serve(root: string): void {
  const cfg = JSON.parse(readFileSync(path.join(root, TRAEFIK_CONFIG), 'utf8')) as TraefikConfig;
  const servers = cfg.apps.map(({ domain, port }) =>
    http
      .createServer((req, res) => {
        let reply: Reply;
        try {
          reply = answer(cfg, domain, req.url);
        } catch (err) {
          reply = { status: 500, body: JSON.stringify({ app: domain, error: (err as Error).message }) };
        }
        const type = reply.type ?? 'application/json';
        res
          .writeHead(reply.status, { 'content-type': type })
          .end(typeof reply.body === 'string' ? `${reply.body}\n` : reply.body);
        console.log(`${new Date().toISOString()} ${domain} ${req.method} ${req.url} ${reply.status}`);
      })
      .listen(port, cfg.address, () => console.log(`${domain} on ${cfg.address}:${port}`)),
  );
  // source: https://doc.traefik.io/traefik/routing/entrypoints/#respondingtimeouts (idleTimeout, default 180s): a
  // client's idle keep-alive connection stays open that long, not Node's 5 s
  for (const s of servers) s.keepAliveTimeout = 180_000;
  const stop = () => {
    for (const s of servers) s.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  serve(process.argv[2] ?? process.cwd());
}
