import { httpGet, joinUrl } from '../../kernel/http.js';
import type { HealthConfig } from '../../config/schema.js';
import { compareMastodonVersions, tryParseMastodonVersion } from './version.js';

/**
 * "Healthy after the change" for Mastodon means more than /health (which does
 * not touch the database): the instance API reports the expected version,
 * streaming answers, and a handful of API requests succeed fast enough.
 * Polls until everything holds or the timeout passes.
 */
interface VerificationCheck {
  id: 'health' | 'version' | 'streaming' | 'requests';
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

async function once(
  h: HealthConfig,
  expected: string,
): Promise<Omit<VerificationResult, 'attempts' | 'durationMs' | 'expectedVersion'>> {
  const t = h.requestTimeout;
  const checks: VerificationCheck[] = [];
  const get = (p: string) =>
    httpGet(joinUrl(h.url, p), t).catch((err: Error) => ({ status: 0, body: err.message, ms: 0 }));
  const [health, instance, streaming] = await Promise.all([
    get('/health'),
    get('/api/v2/instance'),
    get('/api/v1/streaming/health'),
  ]);
  checks.push({
    id: 'health',
    ok: health.status === 200 && health.body.trim() === 'OK',
    message: health.status ? `/health: HTTP ${health.status}` : `/health: ${health.body}`,
  });
  let reported: string | null = null;
  try {
    reported =
      instance.status === 200
        ? String((JSON.parse(instance.body) as { version?: unknown }).version ?? '') || null
        : null;
  } catch {
    reported = null;
  }
  const want = tryParseMastodonVersion(expected);
  const got = reported ? tryParseMastodonVersion(reported) : undefined;
  const versionOk = !!want && !!got && compareMastodonVersions(want, got) === 0;
  checks.push({
    id: 'version',
    ok: versionOk,
    message: reported
      ? `instance API reports ${reported}${versionOk ? '' : `, expected ${expected}`}`
      : `instance API: HTTP ${instance.status || instance.body}`,
  });
  checks.push({
    id: 'streaming',
    ok: streaming.status === 200,
    message: `streaming health: ${streaming.status ? `HTTP ${streaming.status}` : streaming.body}`,
  });
  let latency: VerificationResult['latency'] = null;
  if (h.requests > 0) {
    const paths = [
      '/api/v1/timelines/public?limit=5',
      '/api/v2/instance',
      '/api/v1/instance/peers',
      '/api/v1/timelines/public?local=true&limit=5',
    ];
    const times: number[] = [];
    let fivexx = 0;
    let failed = 0;
    for (let i = 0; i < h.requests; i++) {
      const r = await get(paths[i % paths.length]);
      if (r.status >= 500) fivexx++;
      else if (r.status === 0) failed++;
      else times.push(r.ms);
    }
    times.sort((a, b) => a - b);
    latency = times.length
      ? { maxMs: Math.round(times.at(-1)!), medianMs: Math.round(times[Math.floor(times.length / 2)]) }
      : null;
    const slow = latency !== null && latency.maxMs > h.latencyMs;
    checks.push({
      id: 'requests',
      ok: fivexx === 0 && failed === 0 && !slow,
      message:
        `${h.requests} API requests: ${fivexx} answered 5xx, ${failed} no answer` +
        `${latency ? `, slowest ${latency.maxMs} ms (limit ${h.latencyMs} ms)` : ''}`,
    });
  }
  return { ok: checks.every((c) => c.ok), reportedVersion: reported, checks, latency };
}

export async function verifyMastodon(
  h: HealthConfig,
  expectedVersion: string,
  opts: { signal?: AbortSignal; intervalMs?: number; onAttempt?: (r: VerificationCheck[]) => void } = {},
): Promise<VerificationResult> {
  const started = Date.now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const r = await once(h, expectedVersion);
    opts.onAttempt?.(r.checks);
    const durationMs = Date.now() - started;
    if (r.ok || durationMs >= h.timeout || opts.signal?.aborted) return { ...r, expectedVersion, attempts, durationMs };
    await new Promise((res) => setTimeout(res, opts.intervalMs ?? 1000));
  }
}

export function describeVerification(r: VerificationResult): string {
  const bad = r.checks.filter((c) => !c.ok);
  return r.ok
    ? `healthy at ${r.reportedVersion} (${r.checks.map((c) => c.id).join(', ')} ok)`
    : `not healthy after ${Math.round(r.durationMs / 1000)}s: ${bad.map((c) => c.message).join('; ')}`;
}
