import { OperationRecord } from '../history/operation.js';
import { foldRejections, type Rejection } from '../history/rejections.js';
import { settleLimit } from '../kernel/concurrency.js';
import { errorMessage, OperationError, RefusedError } from '../kernel/errors.js';
import type { Finding, VersionChoice } from '../targets/profile.js';
import type { RunView } from '../pipeline/view.js';
import type { Workspace } from '../workspace/workspace.js';

interface Rejections {
  rejected: Map<string, Rejection>;
  /** Hosts that could not be read: what they hold is not in `rejected`. */
  errors: string[];
}

/**
 * The service's rejections, from the history on the host of each of its environments (read in parallel, through
 * the run's views: the same read serves the rest of the run), or of `only` those (hosts known to answer).
 */
export async function readRejections(views: RunView, service: string, only?: string[]): Promise<Rejections> {
  const ws = views.ws;
  const envs = only ?? Object.keys(ws.service(service).environments);
  const read = await settleLimit(envs, ws.config.ssh.parallel, async (env) => {
    const view = await views.of(service, env);
    return (await view.history()).records;
  });
  const errors = read.flatMap((r, i) =>
    r.ok ? [] : [`rejections of ${service}/${envs[i]} unread: ${errorMessage(r.error)}`],
  );
  return { rejected: foldRejections(read.flatMap((r) => (r.ok ? r.value : []))), errors };
}

export function describeRejection(r: Rejection): string {
  return `rejected by ${r.operator} on ${r.at.slice(0, 10)}: ${r.reason}`;
}

/** The refusal of a rejected version (the picker, --to, promote). */
export function refuseRejected(service: string, r: Rejection): RefusedError {
  return new RefusedError(`${service} ${r.version} is ${describeRejection(r)}`, {
    hints: [`coopctl unreject ${service} ${r.version} --reason TEXT lifts it`],
  });
}

/** The picker offers a rejected version as refused, with the reason. */
export function markRejected(choice: VersionChoice, rejected: Map<string, Rejection>): VersionChoice {
  const suggestions = choice.suggestions.map((s) => {
    const r = rejected.get(s.version);
    return r ? { ...s, allowed: false, reason: describeRejection(r) } : s;
  });
  return { ...choice, suggestions };
}

/** A plan to a rejected version is refused (exit 3), the reason in its findings. */
export function rejectionFindings(service: string, to: string, rejected: Map<string, Rejection>): Finding[] {
  const r = rejected.get(to);
  if (!r) return [];
  const fix = `coopctl unreject ${service} ${to} --reason TEXT`;
  return [{ id: 'rejected', level: 'fail', message: `${to} is ${describeRejection(r)}`, fix }];
}

/**
 * `reject`/`unreject`: one record on the host of every environment of the service, so that every operator sees it
 * wherever they look. A host that cannot be written is named; the others keep their record.
 */
export async function markVersion(
  ws: Workspace,
  service: string,
  operation: 'reject' | 'unreject',
  version: string,
  reason: string | undefined,
): Promise<string[]> {
  const envs = Object.keys(ws.service(service).environments);
  const written = await settleLimit(envs, ws.config.ssh.parallel, async (env) => {
    const t = await ws.target(service, env);
    const record = new OperationRecord(t.remote, t.paths.stateDir, service, env, operation);
    await record.start({ host: t.host.name, version, ...(reason ? { reason } : {}) });
    await record.finish('succeeded', `${operation}ed ${version}${reason ? `: ${reason}` : ''}`);
    return `${env} (${t.host.name}): ${record.id}`;
  });
  const failed = written.flatMap((r, i) => (r.ok ? [] : [`${envs[i]}: ${errorMessage(r.error)}`]));
  if (failed.length) {
    throw new OperationError(`${operation} ${service} ${version} not recorded on ${failed.join('; ')}`, {
      hints: ['the other environments have it; run the command again once the host answers'],
    });
  }
  return written.flatMap((r) => (r.ok ? [r.value] : []));
}
