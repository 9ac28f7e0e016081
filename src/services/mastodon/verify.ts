import { httpGet } from '../../kernel/http.js';
import type { HealthConfig } from '../../config/schema.js';
import type { PatchExpectation } from '../../config/patches.js';
import type { Target } from '../../targets/target.js';
import { probeHolds } from '../../targets/publicProbe.js';
import { checkFederation } from '../federation.js';
import { healthOf, mastodonPublicProbes } from './config.js';
import { versionOf } from './host.js';
import { answeredOk, describeAnswer, type LocalAnswer, localEndpoints, localGet } from './local.js';
import { compareMastodonVersions, tryParseMastodonVersion } from './version.js';

/**
 * "Healthy after the change" for Mastodon means more than /health (which does
 * not touch the database): the web process reports the expected version,
 * streaming answers, and a handful of API requests succeed fast enough. All
 * of these are asked on the host, past the caching proxy (see local.ts); the
 * public URL is checked on its own, for reachability only: what the proxy
 * answers there may be a cached copy and never decides the version. With
 * health.federation, WebFinger and the actor answer there too (federation.ts).
 * Polls until everything holds or the timeout passes.
 */
interface VerificationCheck {
  id: 'health' | 'version' | 'streaming' | 'requests' | 'public' | 'patches' | 'federation';
  ok: boolean;
  message: string;
}

interface VerificationResult {
  ok: boolean;
  expectedVersion: string;
  reportedVersion: string | null;
  checks: VerificationCheck[];
  attempts: number;
  durationMs: number;
  latency: { maxMs: number; medianMs: number } | null;
}

/**
 * What verification asks besides /health and the version, unless health.requestPaths says otherwise: requests
 * that reach the database. An admin can close some of them to visitors (the public timelines, the peers list:
 * 401/422/404), so preflight's `verification-requests` check asks them before a change.
 */
const REQUESTS = [
  '/api/v1/timelines/public?limit=5',
  '/api/v2/instance',
  '/api/v1/instance/peers',
  '/api/v1/timelines/public?local=true&limit=5',
];

export const requestPathsOf = (h: HealthConfig): readonly string[] => h.requestPaths ?? REQUESTS;

const said = (r: LocalAnswer, what: string) => `${what}: ${describeAnswer(r)}`;

/** The API requests on the host: each must answer 2xx (a redirect or a 4xx never reached the app) in time. */
function requestsCheck(
  h: HealthConfig,
  paths: string[],
  answers: LocalAnswer[],
): Pick<VerificationResult, 'latency'> & {
  check: VerificationCheck;
} {
  const fivexx = answers.filter((r) => r.status >= 500).length;
  const failed = answers.filter((r) => r.status === 0).length;
  const refused = answers.filter((r) => r.status > 0 && r.status < 500 && !answeredOk(r)).length;
  const times = answers
    .filter((r) => r.status > 0 && r.status < 500)
    .map((r) => r.ms)
    .sort((a, b) => a - b);
  const latency = times.length
    ? { maxMs: Math.round(times.at(-1)!), medianMs: Math.round(times[Math.floor(times.length / 2)]) }
    : null;
  const slow = latency !== null && latency.maxMs > h.latencyMs;
  const firstBad = answers.findIndex((r) => r.status > 0 && !answeredOk(r));
  const message =
    `${answers.length} API requests on the host: ${fivexx} answered 5xx, ${refused} 3xx/4xx, ${failed} no answer` +
    `${firstBad >= 0 ? ` (${said(answers[firstBad], paths[firstBad])})` : ''}` +
    `${latency ? `, slowest ${latency.maxMs} ms (limit ${h.latencyMs} ms)` : ''}`;
  const ok = fivexx === 0 && refused === 0 && failed === 0 && !slow;
  return { latency, check: { id: 'requests', ok, message } };
}

async function publicCheck(h: HealthConfig): Promise<VerificationCheck> {
  const [web] = mastodonPublicProbes(h);
  const r = await httpGet(web.url, h.requestTimeout).catch((err: Error) => ({ status: 0, body: err.message }));
  return { id: 'public', ok: probeHolds(web, r), message: said({ ...r, ms: 0 }, `public URL ${web.url}`) };
}

/** A patch's declared effect on what /api/v2/instance reports. */
type Expectation = PatchExpectation & { patch: string };

function valueAt(json: unknown, dotted: string): unknown {
  let v = json;
  for (const k of dotted.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function patchesCheck(instance: LocalAnswer, expectations: readonly Expectation[]): VerificationCheck {
  if (!answeredOk(instance)) return { id: 'patches', ok: false, message: said(instance, '/api/v2/instance') };
  let json: unknown;
  try {
    json = JSON.parse(instance.body);
  } catch {
    json = undefined;
  }
  const lines = expectations.map((e) => {
    const got = valueAt(json, e.instanceApi.path);
    const ok = got === e.instanceApi.equals;
    const shown = got === undefined ? 'nothing' : JSON.stringify(got);
    const miss = ok ? '' : `, expected ${JSON.stringify(e.instanceApi.equals)}`;
    return { ok, text: `${e.patch}: /api/v2/instance ${e.instanceApi.path} = ${shown}${miss}` };
  });
  return { id: 'patches', ok: lines.every((s) => s.ok), message: lines.map((s) => s.text).join('; ') };
}

async function once(
  t: Target,
  expected: string,
  expectations: readonly Expectation[],
): Promise<Omit<VerificationResult, 'attempts' | 'durationMs' | 'expectedVersion'>> {
  const h = healthOf(t);
  const { web, streaming } = localEndpoints(t);
  const list = requestPathsOf(h);
  const paths = Array.from({ length: h.requests }, (_, i) => list[i % list.length]);
  const urls = [`${web}/health`, `${web}/api/v2/instance`, `${streaming}/api/v1/streaming/health`];
  const [local, pub, federation] = await Promise.all([
    localGet(t, [...urls, ...paths.map((p) => `${web}${p}`)], h.requestTimeout).catch((err: Error) =>
      urls.map(() => ({ status: 0, body: err.message, ms: 0 })),
    ),
    publicCheck(h),
    h.federation ? checkFederation(h, h.federation) : undefined,
  ]);
  const [health, instance, stream] = local;
  let reported: string | null = null;
  let why = '';
  try {
    reported = versionOf(instance, `${urls[1]} on ${t.host.name}`);
  } catch (err) {
    why = (err as Error).message;
  }
  const want = tryParseMastodonVersion(expected);
  const got = reported ? tryParseMastodonVersion(reported) : undefined;
  const versionOk = !!want && !!got && compareMastodonVersions(want, got) === 0;
  const checks: VerificationCheck[] = [
    { id: 'health', ok: health.status === 200 && health.body.trim() === 'OK', message: said(health, '/health') },
    {
      id: 'version',
      ok: versionOk,
      message: reported ? `${t.host.name} runs ${reported}${versionOk ? '' : `, expected ${expected}`}` : why,
    },
    { id: 'streaming', ok: stream.status === 200, message: said(stream, 'streaming health') },
  ];
  let latency: VerificationResult['latency'] = null;
  if (h.requests > 0) {
    const r = requestsCheck(h, paths, local.length > urls.length ? local.slice(urls.length) : paths.map(() => health));
    latency = r.latency;
    checks.push(r.check);
  }
  if (expectations.length) checks.push(patchesCheck(instance, expectations));
  checks.push(pub);
  if (federation) checks.push(federation);
  return { ok: checks.every((c) => c.ok), reportedVersion: reported, checks, latency };
}

export async function verifyMastodon(
  t: Target,
  expectedVersion: string,
  opts: {
    signal?: AbortSignal;
    intervalMs?: number;
    onAttempt?: (r: VerificationCheck[]) => void;
    /** The declared effects of the deployed patches. */
    expectations?: readonly Expectation[];
  } = {},
): Promise<VerificationResult> {
  const started = Date.now();
  const timeout = healthOf(t).timeout;
  let attempts = 0;
  for (;;) {
    attempts++;
    const r = await once(t, expectedVersion, opts.expectations ?? []);
    opts.onAttempt?.(r.checks);
    const durationMs = Date.now() - started;
    if (r.ok || durationMs >= timeout || opts.signal?.aborted) return { ...r, expectedVersion, attempts, durationMs };
    // An attempt over SSH takes a moment: the last one starts at the timeout, not a whole interval after it.
    await new Promise((res) => setTimeout(res, Math.min(opts.intervalMs ?? 1000, timeout - durationMs)));
  }
}

export function describeVerification(r: VerificationResult): string {
  const bad = r.checks.filter((c) => !c.ok);
  return r.ok
    ? `healthy at ${r.reportedVersion} (${r.checks.map((c) => c.id).join(', ')} ok)`
    : `not healthy after ${Math.floor(r.durationMs / 1000)}s: ${bad.map((c) => c.message).join('; ')}`;
}
