import type { HealthConfig } from '../../config/schema.js';
import { abraConfig } from '../../drivers/abra/app.js';
import { convergeBudgetMs, labelledVersion } from '../../drivers/abra/deploy.js';
import { convergence, stackName, stackServices } from '../../drivers/abra/swarm.js';
import { errorMessage } from '../../kernel/errors.js';
import { httpGet } from '../../kernel/http.js';
import type { Health } from '../../targets/profile.js';
import type { Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';
import { ANSWERED, probeHolds, type PublicProbe } from '../../targets/publicProbe.js';
import { checkFederation } from '../federation.js';

interface AppCheck {
  id: 'version' | 'converged' | 'url' | 'federation';
  ok: boolean;
  message: string;
}

/** The app's URL answers (2xx or a redirect, not followed: a login page), as recipes have no health endpoint. */
export function appPublicProbes(h: HealthConfig): PublicProbe[] {
  return [{ name: 'app', url: h.url, statuses: ANSWERED }];
}

export async function appHealth(t: Target): Promise<Health | null> {
  const h = t.envConfig.health;
  if (!h) return null;
  try {
    const [app] = appPublicProbes(h);
    const r = await httpGet(app.url, h.requestTimeout);
    const ok = probeHolds(app, r);
    return { healthy: ok, latencyMs: Math.round(r.ms), error: ok ? undefined : `${h.url} answered HTTP ${r.status}` };
  } catch (err) {
    return { healthy: false, latencyMs: null, error: errorMessage(err) };
  }
}

async function urlCheck(t: Target): Promise<AppCheck> {
  const h = await appHealth(t);
  if (!h) return { id: 'url', ok: true, message: 'no health URL configured' };
  const message = h.error ?? `${t.envConfig.health!.url} answered in ${h.latencyMs} ms`;
  return { id: 'url', ok: h.healthy, message };
}

async function settled(what: AppCheck['id'], fn: () => Promise<AppCheck>): Promise<AppCheck> {
  return fn().catch((err: unknown) => ({ id: what, ok: false, message: errorMessage(err) }));
}

async function attempt(context: RunContext, t: Target, version: string): Promise<AppCheck[]> {
  const stack = stackName(abraConfig(t).domain);
  const h = t.envConfig.health;
  return Promise.all([
    settled('version', async () => {
      const v = await labelledVersion(context, t);
      return {
        id: 'version',
        ok: v === version,
        message: `abra app ls: ${v}${v === version ? '' : `, not ${version}`}`,
      };
    }),
    settled('converged', async () => {
      const c = convergence(await stackServices(t.remote, stack));
      return { id: 'converged', ok: c.converged, message: c.message };
    }),
    urlCheck(t),
    ...(h?.federation ? [checkFederation(h, h.federation)] : []),
  ]);
}

/**
 * Healthy after a change, on coopctl's own terms: the stack's label reports the version, every swarm service runs
 * its replicas, the URL answers (with health.federation, WebFinger and the actor too); polled until the recipe's
 * converge timeout. abra's converge check alone is not trusted: it can say "deploy failed" while the swarm settles
 * later, and nothing when it did not wait.
 */
export async function verifyApp(
  context: RunContext,
  t: Target,
  version: string,
  opts: { signal?: AbortSignal; onAttempt?: (line: string) => void; intervalMs?: number },
) {
  const started = Date.now();
  const budget = await convergeBudgetMs(context, t, version);
  let attempts = 0;
  for (;;) {
    attempts++;
    const checks = await attempt(context, t, version);
    opts.onAttempt?.(checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.message}`).join('  '));
    const ok = checks.every((c) => c.ok);
    const durationMs = Date.now() - started;
    if (ok || durationMs >= budget.ms || opts.signal?.aborted) {
      const bad = checks.filter((c) => !c.ok).map((c) => c.message);
      const summary = ok
        ? `${version}: label, swarm and URL agree (${Math.round(durationMs / 1000)}s)`
        : `not healthy after ${Math.round(durationMs / 1000)}s (limit: ${budget.from}): ${bad.join('; ')}`;
      return { ok, summary, checks, details: { version, checks, attempts, durationMs, limit: budget.from } };
    }
    await new Promise((r) => setTimeout(r, Math.min(opts.intervalMs ?? 2000, budget.ms - durationMs)));
  }
}
