import { errorMessage, RefusedError } from '../kernel/errors.js';
import { readSchema, schemaChanged, type ChangeRun } from './change.js';

/**
 * Once the lock is ours: the service must still be where the plan found it. Another operator's run that
 * finished while this one waited (or planned) moved the version or the schema; going on would apply a plan
 * made for a state that is gone. Refuses (exit 3) before anything changes. A version that cannot be read
 * (the service is down: a rollback or a restore may be why we are here) is reported, and the schema decides.
 */
export async function assertPlanHolds(run: ChangeRun, report: (line: string) => void): Promise<void> {
  const { target: t, plan: p } = run;
  const where = `${p.service}/${p.env}`;
  const again = 'nothing was changed; look at `coopctl history` and plan again';
  const running = await t.profile.runningVersion(run.ws, t).catch((err: unknown) => {
    report(`the running version could not be read again (${errorMessage(err).split('\n')[0]})`);
    return p.from;
  });
  if (running !== p.from) {
    throw new RefusedError(`${where} runs ${running} now, not ${p.from} as planned: ${again}`, {
      details: { planned: p.from, running },
    });
  }
  const before = run.schemaPlanned;
  if (!before) return;
  const now = await readSchema(t);
  if (now && schemaChanged(now, before)) {
    throw new RefusedError(
      `the database schema of ${where} moved since the plan (${before.count} migrations, newest ${before.newest}; ` +
        `now ${now.count}, newest ${now.newest}): ${again}`,
      { details: { schemaPlanned: before, schemaNow: now } },
    );
  }
}
