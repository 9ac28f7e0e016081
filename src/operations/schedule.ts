import type { ScheduleConfig } from '../config/schema.js';
import type { Target } from '../targets/target.js';
import type { Workspace } from '../workspace/workspace.js';

/**
 * What `schedule:` covers: the SERVICE/ENV pairs of schedule.targets (each checked against services:, naming the
 * key when it is not there), else every environment of every service with a database.
 */
export function scheduledPairs(ws: Workspace): Set<string> | undefined {
  const schedule = ws.config.schedule;
  if (!schedule?.targets) return undefined;
  const known = new Set(ws.select().map(({ service, env }) => `${service}/${env}`));
  schedule.targets.forEach((pair, i) => {
    if (!known.has(pair)) {
      throw ws.loaded.error(['schedule', 'targets', i], `"${pair}" is not a SERVICE/ENV of services:`);
    }
  });
  return new Set(schedule.targets);
}

export function isScheduled(schedule: ScheduleConfig | undefined, pairs: Set<string> | undefined, t: Target): boolean {
  if (!schedule || !t.database) return false;
  return pairs ? pairs.has(`${t.service}/${t.env}`) : true;
}
