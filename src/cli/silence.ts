import { serviceLabels } from '../monitoring/labels.js';
import { AlertmanagerClient } from '../notify/alertmanager.js';
import { InOrder } from '../notify/inOrder.js';
import type { ChangePlan, ReportingObserver } from '../pipeline/change.js';
import type { Workspace } from '../workspace/workspace.js';

/** One request's deadline: Alertmanager answers on the operators' network, or not at all. */
const TIMEOUT_MS = 5_000;

/**
 * The change's service × environment silenced in Alertmanager (`monitoring.alertmanager.url`) from when its lock is
 * held until it ended, whatever the ending. The silence's own end (`silenceFor` from its start) is the bound for
 * a coopctl that dies before it can expire it. Either call failing is a warning: the change never waits for it.
 */
export function changeSilence(ws: Workspace, plan: ChangePlan): ReportingObserver | undefined {
  const am = ws.config.monitoring?.alertmanager;
  if (!am?.url) return undefined;
  const client = new AlertmanagerClient({ url: am.url, timeoutMs: TIMEOUT_MS });
  const queue = new InOrder();
  const where = `${plan.service}/${plan.env}`;
  let id: string | undefined;
  let endsAt: Date | undefined;
  return {
    started(r) {
      queue.add(`the alerts of ${where} were not silenced in Alertmanager (${am.url})`, async () => {
        endsAt = new Date(Date.now() + am.silenceFor);
        id = await client.createSilence({
          matchers: serviceLabels(plan),
          endsAt,
          createdBy: r.operator,
          comment: `coopctl ${r.operation} of ${where}: ${plan.from} → ${plan.to} (record ${r.id})`,
        });
      });
    },
    ended() {
      queue.add(`the silence of ${where} was not expired in Alertmanager (${am.url})`, async () => {
        if (!id) return;
        try {
          await client.expireSilence(id);
        } catch (err) {
          throw new Error(`${(err as Error).message}; it ends by itself at ${endsAt!.toISOString()} (silence ${id})`);
        }
      });
    },
    settled: () => queue.settled(),
  };
}
