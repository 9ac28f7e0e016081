import { CoopctlError, errorMessage } from '../kernel/errors.js';
import type { CheckResult } from '../targets/check.js';
import type { Check, CheckContext } from '../targets/target.js';

/**
 * Runs independent checks in parallel; a check that needs another waits for
 * it and is reported as not run when that one failed. A check that throws is
 * a failed check, never a crash.
 */
export async function runChecks(
  all: readonly Check[],
  ctx: CheckContext,
  onResult?: (r: CheckResult) => void,
): Promise<CheckResult[]> {
  const checks = all.filter((c) => c.appliesTo?.(ctx.target, ctx) ?? true);
  const running = new Map<string, Promise<CheckResult>>();
  const runOne = async (check: Check): Promise<CheckResult> => {
    for (const need of check.needs ?? []) {
      const dep = running.get(need);
      if (!dep) continue;
      const r = await dep;
      if (r.status === 'fail') return { id: check.id, status: 'fail', message: `not run: ${need} failed` };
    }
    try {
      return { id: check.id, ...(await check.run(ctx)) };
    } catch (err) {
      const hint = err instanceof CoopctlError ? err.hints[0] : undefined;
      return {
        id: check.id,
        status: 'fail',
        message: errorMessage(err).split('\n')[0],
        ...(hint ? { fix: hint } : {}),
      };
    }
  };
  for (const c of checks) {
    running.set(
      c.id,
      runOne(c).then((r) => {
        onResult?.(r);
        return r;
      }),
    );
  }
  return Promise.all(checks.map((c) => running.get(c.id)!));
}
