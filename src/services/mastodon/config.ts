import type { HealthConfig } from '../../config/schema.js';
import { ConfigError } from '../../kernel/errors.js';
import { joinUrl } from '../../kernel/http.js';
import type { PublicProbe } from '../../targets/publicProbe.js';
import type { Target } from '../../targets/target.js';

/** The public URL and limits of the instance (environments.ENV.health). */
export function healthOf(t: Target): HealthConfig {
  const h = t.envConfig.health;
  if (!h)
    throw new ConfigError(`services.${t.service}.environments.${t.env}.health: the Mastodon profile needs the URL`);
  return h;
}

/** The upstream repository whose tags are the releases (versions.url). */
export function upstreamOf(t: Target): string {
  const v = t.serviceConfig.versions;
  if (!v)
    throw new ConfigError(`services.${t.service}.versions: the Mastodon profile needs the upstream git repository`);
  return v.url;
}

/**
 * The instance's health endpoints through its public URL: web's /health and the streaming server's, which
 * Mastodon's dist/nginx.conf routes to streaming (`location ^~ /api/v1/streaming`); each answers `OK`.
 */
export function mastodonPublicProbes(h: HealthConfig): PublicProbe[] {
  return [
    { name: 'web', url: joinUrl(h.url, '/health'), statuses: [200], body: 'OK' },
    { name: 'streaming', url: joinUrl(h.url, '/api/v1/streaming/health'), statuses: [200], body: 'OK' },
  ];
}
