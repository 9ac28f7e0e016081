import type { ServiceConfig } from '../config/schema.js';
import { newestSucceededChange, type HistoryRecord } from '../history/records.js';
import type { Rejection } from '../history/rejections.js';
import { errorMessage, InputError, RefusedError } from '../kernel/errors.js';
import { formatDuration } from '../kernel/validate.js';
import type { ChangePlan } from '../pipeline/change.js';
import type { TargetView } from '../pipeline/view.js';
import type { Finding } from '../targets/profile.js';
import { recordedPatchSet } from '../config/patches.js';
import { refuseRejected } from './rejections.js';
import { planUpgrade } from './upgrade.js';

const DEFAULT_SOAK_MS = 24 * 3_600_000;

/** --from and --to along the service's `promotion:` chain: --to defaults to the last, --from to the one before. */
export function promotionStep(
  service: string,
  svc: ServiceConfig,
  opts: { from?: string; to?: string },
): { from: string; to: string } {
  const chain = svc.promotion ?? [];
  if (chain.length < 2) {
    throw new InputError(`${service} has no promotion chain: add promotion: [alpha, prod] to its config`);
  }
  const shown = chain.join(' → ');
  const at = (env: string, flag: string) => {
    const i = chain.indexOf(env);
    if (i < 0) throw new InputError(`${flag}: ${env} is not in the promotion chain of ${service} (${shown})`);
    return i;
  };
  const toIndex = opts.to !== undefined ? at(opts.to, '--to') : chain.length - 1;
  if (toIndex === 0) throw new InputError(`--to: ${chain[0]} is the start of ${service}'s chain (${shown})`);
  const fromIndex = opts.from !== undefined ? at(opts.from, '--from') : toIndex - 1;
  if (fromIndex !== toIndex - 1) {
    throw new InputError(
      `--from: ${chain[fromIndex]} does not come right before ${chain[toIndex]} in ${service}'s chain (${shown})`,
    );
  }
  return { from: chain[fromIndex], to: chain[toIndex] };
}

export function soakOf(svc: ServiceConfig, flagMs: number | undefined): number {
  return flagMs ?? svc.soak ?? DEFAULT_SOAK_MS;
}

/**
 * The newest succeeded change on an environment, from its host's history, with the host's clock as it was read; no
 * record when there is none. `moved`: only one that changed the version (the source of a promotion); else any (a
 * redeploy of the same version with other patches).
 */
async function lastChange(view: TargetView, moved: boolean): Promise<{ record?: HistoryRecord; hostNow: Date }> {
  const { records, hostNow } = await view.history();
  return { record: newestSucceededChange(records, { moved }), hostNow };
}

interface PromotionChoice {
  source: HistoryRecord;
  version: string;
  soakMs: number;
  /** The patch-set digest the source runs with, and the one the target's config gives (what it will run). */
  sourcePatches?: string;
  targetPatches?: string;
}

/**
 * What is promoted: the source environment's newest succeeded change, read from ITS host, refused with the reason
 * when it is missing, too young, unhealthy now, rejected, or already what the target runs. Reads only the views.
 */
export async function choosePromotion(
  source: TargetView,
  target: TargetView,
  opts: { soakMs: number; rejected: Map<string, Rejection> },
): Promise<PromotionChoice> {
  const s = source.target;
  const from = `${s.service}/${s.env}`;
  const { record, hostNow } = await lastChange(source, true);
  if (!record) {
    throw new RefusedError(`${from} has no succeeded change in its history on ${s.host.name}: nothing to promote`, {
      hints: [`upgrade ${s.env} first: coopctl upgrade ${s.service} --env ${s.env}`],
    });
  }
  const version = record.to!;
  // both times are the source host's: its record's, and its clock now
  const ranMs = hostNow.getTime() - Date.parse(record.finishedAt ?? record.startedAt);
  if (ranMs < opts.soakMs) {
    throw new RefusedError(
      `${from} has run ${version} for ${formatDuration(Math.max(0, ranMs))} (since ${record.finishedAt}, record ` +
        `${record.id}); the soak time is ${formatDuration(opts.soakMs)}`,
      { hints: ['wait, or pass --soak DURATION (recorded with the promotion)'] },
    );
  }
  const rejection = opts.rejected.get(version);
  if (rejection) throw refuseRejected(s.service, rejection);
  await checkSourceNow(source, version);
  const sourcePatches = recordedPatchSet(record)?.digest;
  const targetPatches = target.patches()?.set.digest;
  const current = await target.facts.runningVersion();
  const runningPatches = recordedPatchSet((await lastChange(target, false)).record)?.digest;
  if (current === version && runningPatches === targetPatches) {
    const patches = targetPatches ? ` with patch set ${targetPatches}` : '';
    const t = target.target;
    throw new RefusedError(`${t.service}/${t.env} already runs ${version}${patches}: nothing to promote`);
  }
  return { source: record, version, soakMs: opts.soakMs, sourcePatches, targetPatches };
}

/** The source runs the recorded version and is healthy now (read-only: its health endpoint, asked on the host). */
async function checkSourceNow(source: TargetView, version: string): Promise<void> {
  const s = source.target;
  const from = `${s.service}/${s.env}`;
  let running: string;
  try {
    running = await source.facts.runningVersion();
  } catch (err) {
    throw new RefusedError(`${from} does not answer now (${errorMessage(err)}): its ${version} is not promoted`);
  }
  if (running !== version) {
    throw new RefusedError(`${from} runs ${running} now, not ${version} as its last succeeded change recorded`);
  }
  const health = await source.health().catch((err: unknown) => ({
    healthy: false,
    latencyMs: null,
    error: errorMessage(err),
  }));
  if (health && !health.healthy) {
    throw new RefusedError(`${from} is not healthy now: ${health.error ?? 'its health check fails'}`);
  }
}

/** The target's upgrade to the source's exact version, as an operation `promote` recording where it came from. */
export async function planPromote(
  view: TargetView,
  sourceView: TargetView,
  c: PromotionChoice,
  fromChaos = false,
): Promise<ChangePlan> {
  const [t, source] = [view.target, sourceView.target];
  const upgrade = await planUpgrade(view, await view.versionChoice(true), c.version, true, fromChaos);
  const findings: Finding[] = [
    {
      id: 'promotion',
      level: 'ok',
      message:
        `${c.version} from ${source.service}/${source.env} (record ${c.source.id}, finished ${c.source.finishedAt}; ` +
        `soak ${formatDuration(c.soakMs)})`,
    },
    ...upgrade.findings,
  ];
  if (c.sourcePatches !== c.targetPatches) {
    findings.push({
      id: 'promoted-patches',
      level: 'warn',
      message:
        `${source.env} runs patch set ${c.sourcePatches ?? 'none'}; ${t.env}'s config gives ` +
        `${c.targetPatches ?? 'none'}: ${t.env} gets its own`,
    });
  }
  return {
    ...upgrade,
    operation: 'promote',
    findings,
    recordFields: {
      ...upgrade.recordFields,
      promotedFrom: c.source.id,
      promotion: {
        from: source.env,
        host: source.host.name,
        record: c.source.id,
        soakMs: c.soakMs,
        soak: formatDuration(c.soakMs),
        ...(c.sourcePatches ? { patchSet: c.sourcePatches } : {}),
      },
    },
  };
}
