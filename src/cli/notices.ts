import { RoomNotices } from '../notify/notices.js';
import type { ChangePlan, ReportingObserver } from '../pipeline/change.js';
import { matrixClientOf } from '../checks/matrix.js';
import type { Workspace } from '../workspace/workspace.js';
import { summaryHeadline } from './summary.js';

/**
 * The notices of one change in the room `notify.matrix` names: when its record exists, and when it ended (the
 * summary's headline and where things stand). Their transaction ids are the record id and the event, so a retried
 * post never shows twice. `settled()`: the warnings of the posts that did not go through.
 */
export function changeNotices(ws: Workspace, plan: ChangePlan): ReportingObserver | undefined {
  const m = ws.config.notify.matrix;
  if (!m) return undefined;
  const room = new RoomNotices(m.room, async () => (await matrixClientOf(ws))!);
  const where = `${plan.service}/${plan.env} on ${plan.host}`;
  return {
    started(r) {
      const change = `${r.operation} of ${where}: ${plan.from} → ${plan.to}`;
      room.post('start', `coopctl.${r.id}.start`, `coopctl: ${r.operator} started ${change} (record ${r.id})`);
    },
    ended(o) {
      if (!o) return; // the run threw: its error is the report, and the record's status the history
      room.post('end', `coopctl.${o.record.id}.end`, `${summaryHeadline(o, plan)}\n${o.state} (record ${o.record.id})`);
    },
    settled: () => room.settled(),
  };
}
