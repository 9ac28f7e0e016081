import { createHash } from 'node:crypto';
import { migrate } from './appDb.js';
import { readSwarm, updateSwarm, type LingeringTask, type SwarmApp, type SwarmState } from './swarm.js';

// source: coop-cloud/bonfire compose.yml (the app migrates its database on boot unless DISABLE_DB_AUTOMIGRATION);
// reference/production.md (P: Bonfire's migrations on boot outlast abra's converge check). The 15 s boot is the
// double's choice: longer than the sandbox's verification budget, so a recovery that reads the ledger before the
// failed task is gone reads it too early, as it would in production with a slow migration.
/** How long a failing `app` task boots before its migrations land, unless swarm.json says `bootSeconds`. */
export const BOOT_MIGRATION_SECONDS = 15;

// source: https://docs.docker.com/reference/compose-file/deploy/#update_config (`order: stop-first` is the default:
// the old task is stopped before its replacement starts) and https://docs.docker.com/reference/cli/docker/service/
// create/ (`--stop-grace-period`, default 10s: SIGTERM, then up to that long before SIGKILL). Harsher reading: a task
// stopped mid-boot finishes the migration it is running (SIGTERM does not undo it), so it is gone only after it.
const STOP_SECONDS = 1;

/** The `app` task of `version` boots, migrates after `bootSeconds`, and never turns healthy. */
export function failingTask(
  state: SwarmState,
  stack: string,
  version: string,
  image: string,
  migrations: string[],
  now: number,
): LingeringTask {
  const boot = (state.bootSeconds ?? BOOT_MIGRATION_SECONDS) * 1000;
  const startedAt = new Date(now).toISOString();
  return {
    id: createHash('sha256').update(`${stack}\0${version}\0${startedAt}`).digest('hex').slice(0, 25),
    version,
    image,
    startedAt,
    migratesAt: migrations.length ? new Date(now + boot).toISOString() : undefined,
    migrations,
  };
}

/** The swarm replaces the task now: it is gone once stopped, and never before its running migration ended. */
export function replaceTask(task: LingeringTask, now: number): string {
  const migrating = !task.migrated && task.migratesAt !== undefined ? Date.parse(task.migratesAt) : undefined;
  task.goneAt ??= new Date(
    migrating === undefined ? now : Math.max(now, migrating) + STOP_SECONDS * 1000,
  ).toISOString();
  return task.goneAt;
}

// source: moby/swarmkit manager/orchestrator/update/updater.go (a rolling update or rollback replaces the tasks
// of a slot: the old task is shut down, then the new one started)
/** Every task of earlier versions is being replaced; returns when the last is gone (ISO 8601), if any remains. */
export function replaceLingering(app: SwarmApp, now: number): string | undefined {
  let last: string | undefined;
  for (const t of app.lingering ?? []) {
    const gone = replaceTask(t, now);
    if (!last || gone > last) last = gone;
  }
  return last && Date.parse(last) > now ? last : undefined;
}

/** What has happened by `now`: due boot migrations land, tasks past their end are gone. */
function advanceApp(app: SwarmApp, now: number): void {
  if (!app.lingering?.length) return;
  for (const t of app.lingering) {
    if (t.migrated || t.migratesAt === undefined || Date.parse(t.migratesAt) > now) continue;
    if (app.db) migrate(app.db, t.migrations);
    t.migrated = true;
  }
  app.lingering = app.lingering.filter((t) => t.goneAt === undefined || Date.parse(t.goneAt) > now);
  if (!app.lingering.length) delete app.lingering;
}

/**
 * Brings the swarm up to now before anyone looks at it: the double has no daemon, so what a task does on its own
 * (migrate, end) is applied when the next command observes the swarm, which no observer can tell apart.
 */
export function advanceSwarm(file: string, now = Date.now()): void {
  // nothing due: the file stays as it is (a read-only command leaves no trace, as `coopctl doctor` checks)
  const due = (t: LingeringTask) =>
    (!t.migrated && t.migratesAt !== undefined && Date.parse(t.migratesAt) <= now) ||
    (t.goneAt !== undefined && Date.parse(t.goneAt) <= now);
  if (!Object.values(readSwarm(file).apps).some((a) => a.lingering?.some(due))) return;
  updateSwarm(file, (state) => {
    for (const app of Object.values(state.apps)) advanceApp(app, now);
  });
}
