import type { HealthConfig } from '../config/schema.js';
import { appPublicProbes } from './coopcloud/verify.js';
import { mastodonPublicProbes } from './mastodon/config.js';
import type { PublicProbe } from './publicProbe.js';

/** What the monitoring watches of a service, as its profile knows it. */
interface ServiceMonitoring {
  /** The public URLs that must answer, and how (the same claims as the profile's health and verification). */
  probes(h: HealthConfig): PublicProbe[];
  /** The exporters its hosts run, scraped at the inventory address: a job name of `monitoring.ports`. */
  exporters: readonly 'mastodon'[];
  /** Its hosts are its own (Mastodon's): the monitoring must not run on one, or it goes down with what it watches. */
  ownsHost: boolean;
}

/** By profile id (src/services/*\/profile.ts); a profile not named here is probed by its health URL alone. */
const BY_PROFILE: Record<string, ServiceMonitoring> = {
  // source: https://docs.joinmastodon.org/admin/config/#prometheus (4.4+): MASTODON_PROMETHEUS_EXPORTER_ENABLED, the
  // exporter on PROMETHEUS_EXPORTER_PORT / MASTODON_PROMETHEUS_EXPORTER_PORT, default 9394
  // (mastodon/mastodon config/initializers/prometheus_exporter.rb)
  mastodon: { probes: mastodonPublicProbes, exporters: ['mastodon'], ownsHost: true },
  'coopcloud-app': { probes: appPublicProbes, exporters: [], ownsHost: false },
};

export function monitoringOf(profileId: string): ServiceMonitoring {
  return BY_PROFILE[profileId] ?? { probes: appPublicProbes, exporters: [], ownsHost: false };
}
