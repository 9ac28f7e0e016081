import type { ChangePlan, ReportingObserver } from '../pipeline/change.js';
import type { Workspace } from '../workspace/workspace.js';
import { changeNotices } from './notices.js';
import { changeSilence } from './silence.js';

/** Every observer of one change (the room's notices, the Alertmanager silence), told through ChangeDeps.observers. */
export async function changeObservers(ws: Workspace, plan: ChangePlan): Promise<ReportingObserver[]> {
  return [changeNotices(ws, plan), changeSilence(ws, plan)].filter((o) => o !== undefined);
}

/** All of them done (a silence expired, a notice posted or given up), their warnings in order. */
export async function settledAll(observers: readonly ReportingObserver[]): Promise<string[]> {
  return (await Promise.all(observers.map((o) => o.settled()))).flat();
}
