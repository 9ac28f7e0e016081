import type { HealthConfig } from '../config/schema.js';

/**
 * What a service's public URL must answer for the service to count as up: the one claim that coopctl's own checks
 * (verification, status) and the monitoring's probes (src/monitoring/) both make. Redirects are never followed.
 */
export interface PublicProbe {
  /** web, streaming, app: a label of the probe's series. */
  name: string;
  url: string;
  /** The statuses that count as up. */
  statuses: readonly number[];
  /** The body, trimmed, must be exactly this (Mastodon's health endpoints answer `OK`). */
  body?: string;
  /** Request headers (Accept); a Host header names the site the URL's address serves. */
  headers?: Readonly<Record<string, string>>;
  /** Regular expressions (RE2) that the body must each match. */
  bodyMatches?: readonly string[];
}

// source: IANA HTTP Status Code Registry (https://www.iana.org/assignments/http-status-codes): the registered 2xx and
// 3xx codes
/** An answer or a redirect (a login page): the app answered. */
export const ANSWERED: readonly number[] = [
  200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
];

export function probeHolds(p: PublicProbe, r: { status: number; body: string }): boolean {
  return (
    p.statuses.includes(r.status) &&
    (p.body === undefined || r.body.trim() === p.body) &&
    (p.bodyMatches ?? []).every((re) => new RegExp(re).test(r.body))
  );
}

/** What the monitoring watches of a service, as its profile knows it (ServiceProfile.monitoring). */
export interface ServiceMonitoring {
  /** The public URLs that must answer, and how (the same claims as the profile's health and verification). */
  probes(h: HealthConfig): PublicProbe[];
  /** The exporters its hosts run, scraped at the inventory address: a job name of `monitoring.ports`. */
  exporters: readonly 'mastodon'[];
  /** Its hosts are its own (Mastodon's): the monitoring must not run on one, or it goes down with what it watches. */
  ownsHost: boolean;
}

export const regexpQuote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
