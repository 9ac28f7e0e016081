import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inNetns } from '../netns.js';
import { isRunning, readPid, stopPidFile } from '../processes.js';

/**
 * The reverse proxy in front of a sandbox Mastodon: Debian's nginx, run
 * with its own config, pid file, logs, temp and cache directories under the
 * host's root, configured like Mastodon's dist/nginx.conf (proxy_cache with
 * stale copies on error, streaming passed through uncached). The sandbox's
 * health.url points here, as production's public URL points at its nginx.
 *
 * It listens in plain HTTP, but proxies as dist/nginx.conf's `listen 443 ssl` server (:26) does: that server is
 * the only one that proxies (the port-80 one answers `return 301 https://$host$request_uri`, :22), so its
 * `X-Forwarded-Proto $scheme` is always `https`, which Rails' force_ssl needs (no redirect). `Host $host` stays:
 * a visitor who asks by the instance's name gets the app, one who asks by address gets Rails' 403, as in
 * production (test/doubles/mastodon/railsGate.ts).
 */
// source: mastodon/mastodon dist/nginx.conf (proxy_cache_path ... keys_zone=CACHE:10m inactive=7d max_size=1g;
// proxy_cache CACHE; proxy_cache_valid 200 7d; proxy_cache_valid 410 24h; proxy_cache_use_stale error timeout
// updating http_500 http_502 http_503 http_504; /api/v1/streaming proxied with proxy_buffering off, uncached).
// Over plain HTTP here: production's nginx terminates TLS and sets X-Forwarded-Proto https for the app.
export interface ProxySpec {
  listen: { address: string; port: number };
  web: { address: string; port: number };
  streaming: { address: string; port: number };
}

export const NGINX_BIN = '/usr/sbin/nginx';

const hostPort = (a: { address: string; port: number }) =>
  `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;

function nginxPaths(root: string) {
  const dir = path.join(root, 'nginx');
  return {
    dir,
    conf: path.join(dir, 'nginx.conf'),
    pid: path.join(dir, 'nginx.pid'),
    errorLog: path.join(dir, 'error.log'),
    cache: path.join(dir, 'cache'),
    temp: path.join(dir, 'temp'),
    public: path.join(dir, 'public'),
  };
}

function nginxConf(root: string, spec: ProxySpec): string {
  const p = nginxPaths(root);
  // Run by root (netns sandboxes), workers would otherwise drop to nobody, who may not reach these paths.
  const user = process.getuid?.() === 0 ? `user ${os.userInfo().username};\n` : '';
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${path.join(p.temp, t)};`)
    .join('\n');
  return `# Written by the coopctl sandbox: Mastodon's dist/nginx.conf, over plain HTTP.
${user}worker_processes 1;
pid ${p.pid};
error_log ${p.errorLog} warn;
events { worker_connections 256; }

http {
  access_log ${path.join(p.dir, 'access.log')};
${temp}

  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
  }

  upstream backend {
    server ${hostPort(spec.web)} fail_timeout=0;
  }

  upstream streaming {
    least_conn;
    server ${hostPort(spec.streaming)} fail_timeout=0;
  }

  proxy_cache_path ${p.cache} levels=1:2 keys_zone=CACHE:10m inactive=7d max_size=1g;

  server {
    listen ${hostPort(spec.listen)};
    server_name _;

    keepalive_timeout 70;
    sendfile on;
    client_max_body_size 99m;

    root ${p.public};

    location / {
      try_files $uri @proxy;
    }

    location ^~ /api/v1/streaming {
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header Proxy "";

      proxy_pass http://streaming;
      proxy_buffering off;
      proxy_redirect off;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;

      tcp_nodelay on;
    }

    location @proxy {
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header Proxy "";
      proxy_pass_header Server;

      proxy_pass http://backend;
      proxy_buffering on;
      proxy_redirect off;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;

      proxy_cache CACHE;
      proxy_cache_valid 200 7d;
      proxy_cache_valid 410 24h;
      proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
      add_header X-Cached $upstream_cache_status;

      tcp_nodelay on;
    }

    error_page 404 500 501 502 503 504 /500.html;
  }
}
`;
}

export function prepareNginx(root: string, spec: ProxySpec): void {
  if (!existsSync(NGINX_BIN)) throw new Error(`${NGINX_BIN} is missing: install Debian's nginx (scripts/setup.sh)`);
  const p = nginxPaths(root);
  for (const d of [p.dir, p.cache, p.temp, p.public]) mkdirSync(d, { recursive: true });
  writeFileSync(
    path.join(p.public, '500.html'),
    '<!DOCTYPE html>\n<title>We are sorry, but something went wrong</title>\n',
  );
  writeFileSync(p.conf, nginxConf(root, spec));
}

/** Starts the host's nginx (inside its network namespace, if any); it daemonizes and writes its pid file. */
export function startNginx(root: string, netns?: string): void {
  const p = nginxPaths(root);
  if (!existsSync(p.conf) || isRunning(readPid(p.pid) ?? -1)) return;
  const [cmd, ...args] = inNetns(netns, [NGINX_BIN, '-p', p.dir, '-c', p.conf, '-e', p.errorLog]);
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(`nginx did not start (${p.conf}): ${stderr || (err as Error).message}`);
  }
}

export async function stopNginx(root: string): Promise<void> {
  await stopPidFile(nginxPaths(root).pid);
}
