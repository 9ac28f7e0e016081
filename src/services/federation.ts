import type { FederationConfig, HealthConfig } from '../config/schema.js';
import { errorMessage } from '../kernel/errors.js';
import { httpGet, joinUrl } from '../kernel/http.js';
import { type PublicProbe, regexpQuote } from '../targets/publicProbe.js';

/**
 * Federation as another server sees it: WebFinger (RFC 7033) for the configured account resolves, and the actor
 * its `self` link names is served as ActivityPub. What the servers answer:
 * - Mastodon, app/controllers/well_known/webfinger_controller.rb (mastodon/mastodon 0486db9): `render json:
 *   @account, serializer: WebfingerSerializer, content_type: 'application/jrd+json'`, 404 for an unknown account;
 *   app/serializers/webfinger_serializer.rb: links `{rel: 'self', type: 'application/activity+json', href:
 *   account_url}`; app/controllers/accounts_controller.rb `format.json`: the actor with `content_type:
 *   'application/activity+json'` (ActivityPub::ActorSerializer: `type` Person, or Service for a bot).
 * - Bonfire, bonfire-networks/activity_pub lib/web/controllers/webfinger_controller.ex: Phoenix's `json(conn, ...)`
 *   (application/json) of lib/federator/webfinger.ex represent_user, whose links hold the same `self` link
 *   (lib/federator/publisher gather_webfinger_links); the actor at /pub/actors/NAME
 *   (lib/web/controllers/activity_pub_controller.ex actor/2).
 * So the WebFinger answer may be JRD or plain JSON; the actor must be activity+json (or the equivalent ld+json
 * profile, which ActivityPub §3.2 names) and an actor whose `id` is the link.
 */
interface FederationCheck {
  id: 'federation';
  ok: boolean;
  message: string;
}

// source: ActivityStreams 2.0 Vocabulary §2 "Actor Types" (https://www.w3.org/TR/activitystreams-vocabulary/)
const ACTOR_TYPES = ['Person', 'Service', 'Application', 'Group', 'Organization'];
// source: ActivityPub §3.2 (https://www.w3.org/TR/activitypub/#retrieving-objects): the two media types of an object
const AP_TYPES =
  /^application\/(activity\+json|ld\+json\s*;\s*profile="?https:\/\/www\.w3\.org\/ns\/activitystreams"?)/i;
const ACTIVITY_JSON = 'application/activity+json';
const JSON_TYPES = /^application\/(jrd\+json|json)\b/i;

/** The instance's domain: federation.domain, else the host of the health URL (social.coop). */
function federationDomain(h: HealthConfig, f: FederationConfig): string {
  return f.domain ?? new URL(h.url).host;
}

function webfingerUrl(h: HealthConfig, f: FederationConfig): string {
  const resource = `acct:${f.account}@${federationDomain(h, f)}`;
  return joinUrl(h.url, `/.well-known/webfinger?resource=${encodeURIComponent(resource)}`);
}

/** The Host of the instance's domain, when the health URL reaches it at another address (the sandbox's). */
const hostOf = (h: HealthConfig, f: FederationConfig): Record<string, string> =>
  new URL(h.url).host === federationDomain(h, f) ? {} : { host: federationDomain(h, f) };

/**
 * A URL on the instance's domain is asked at the health URL with the domain as Host (as DNS would take it there);
 * any other URL as it is. In production the two are the same: https://social.coop.
 */
function reach(h: HealthConfig, f: FederationConfig, url: string): { url: string; headers: Record<string, string> } {
  const u = new URL(url);
  if (u.host !== federationDomain(h, f)) return { url, headers: {} };
  return { url: joinUrl(h.url, `${u.pathname}${u.search}`), headers: hostOf(h, f) };
}

const parse = (body: string): unknown => {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
};

/** The `self` link of a JRD that names an ActivityPub document (webfinger_from_json's reading, lib/federator). */
function selfLink(jrd: unknown): string | undefined {
  const links = (jrd as { links?: unknown })?.links;
  if (!Array.isArray(links)) return undefined;
  const link = links.find(
    (l) => l && typeof l === 'object' && l.rel === 'self' && typeof l.type === 'string' && AP_TYPES.test(l.type),
  ) as { href?: unknown } | undefined;
  return typeof link?.href === 'string' ? link.href : undefined;
}

/** Why an actor answer is not the actor `href` names, or undefined when it is. */
function actorProblem(href: string, r: { status: number; body: string; contentType: string }) {
  if (r.status !== 200) return `HTTP ${r.status}`;
  if (!AP_TYPES.test(r.contentType)) return `served as ${r.contentType || 'no Content-Type'}, not ${ACTIVITY_JSON}`;
  const actor = parse(r.body) as { id?: unknown; type?: unknown } | undefined;
  if (!actor || typeof actor !== 'object') return 'not JSON';
  if (typeof actor.type !== 'string' || !ACTOR_TYPES.includes(actor.type)) {
    return `type ${JSON.stringify(actor.type ?? null)} is not an actor's`;
  }
  if (actor.id !== href) return `id ${JSON.stringify(actor.id ?? null)} is not ${href}`;
  return undefined;
}

/**
 * A query parameter no server reads, so that a caching proxy in front (Mastodon's dist/nginx.conf keeps what Rails
 * marks public: WebFinger 3 days, the actor 3 minutes) hands on what the app answers now, not a copy from before
 * the change. Both controllers read only their own parameters (`resource`, the path's username).
 */
const pastTheCache = (url: string) => `${url}${url.includes('?') ? '&' : '?'}coopctl=${Date.now()}`;

/** WebFinger for the account, then its actor, through the public URL past its cache; never throws. */
export async function checkFederation(h: HealthConfig, f: FederationConfig): Promise<FederationCheck> {
  const who = `${f.account}@${federationDomain(h, f)}`;
  const fail = (why: string): FederationCheck => ({ id: 'federation', ok: false, message: `${who}: ${why}` });
  try {
    const wf = pastTheCache(webfingerUrl(h, f));
    const jrd = await httpGet(wf, h.requestTimeout, { ...hostOf(h, f), accept: 'application/jrd+json' });
    if (jrd.status !== 200) return fail(`WebFinger answered HTTP ${jrd.status}`);
    if (!JSON_TYPES.test(jrd.contentType)) return fail(`WebFinger answered ${jrd.contentType || 'no Content-Type'}`);
    const href = selfLink(parse(jrd.body));
    if (!href) return fail(`WebFinger has no "self" link of type ${ACTIVITY_JSON}`);
    const at = reach(h, f, href);
    const actor = await httpGet(pastTheCache(at.url), h.requestTimeout, { ...at.headers, accept: ACTIVITY_JSON });
    const problem = actorProblem(href, actor);
    if (problem) return fail(`actor ${href}: ${problem}`);
    return { id: 'federation', ok: true, message: `${who}: WebFinger → actor ${href} (${ACTIVITY_JSON})` };
  } catch (err) {
    return fail(errorMessage(err));
  }
}

/**
 * What the monitoring probes of it: the WebFinger answer names the account and an ActivityPub `self` link. The
 * actor's URL is only known from that answer (a render asks nothing), so the probe stops at WebFinger.
 */
export function federationProbes(h: HealthConfig, f: FederationConfig | undefined): PublicProbe[] {
  if (!f) return [];
  const domain = federationDomain(h, f);
  const subject = `acct:${f.account}@${domain}`;
  // the blackbox exporter makes a Host header the request's Host (prometheus/blackbox_exporter prober/http.go:
  // `if textproto.CanonicalMIMEHeaderKey(key) == "Host" { request.Host = value }`)
  const host: Record<string, string> = hostOf(h, f).host ? { Host: domain } : {};
  return [
    {
      name: 'webfinger',
      url: webfingerUrl(h, f),
      statuses: [200],
      headers: { Accept: 'application/jrd+json', ...host },
      bodyMatches: [`"subject"\\s*:\\s*"${regexpQuote(subject)}"`, '"rel"\\s*:\\s*"self"'],
    },
  ];
}
