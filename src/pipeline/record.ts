import { readFile } from 'node:fs/promises';
import { OperationRecord, repoCommit } from '../history/operation.js';
import { errorMessage } from '../kernel/errors.js';
import { coopctlVersion } from '../kernel/version.js';
import type { ChangeOutcome, ChangeRun, Ending } from './change.js';

/**
 * Starts the operation's history record, runs `inner`, and finishes the
 * record with the ending `inner` reports: the one place every outcome of a
 * change passes through. If coopctl itself breaks, the record still ends
 * (failed) before the error goes on. The full log is kept next to it.
 */
export async function withRecord(run: ChangeRun, inner: () => Promise<Ending>): Promise<ChangeOutcome> {
  const { ws, target: t, plan: p } = run;
  const record = new OperationRecord(t.remote, t.paths.stateDir, t.service, t.env, p.operation);
  run.record = record;
  await record.start({
    from: p.from,
    to: p.to,
    host: t.host.name,
    configDigest: ws.loaded.digest,
    repoCommit: repoCommit(ws.loaded.dir),
    coopctlVersion: coopctlVersion(),
    releaseNotes: p.notes.map((n) => n.version),
    ...p.recordFields,
  });
  let ending: Ending;
  try {
    ending = await inner();
    await record.finish(ending.status, ending.note, { checks: run.checks, ...run.unnoted, ...ending.fields });
  } catch (err) {
    if (record.status === 'pending') {
      await record.finish('failed', `coopctl could not finish cleanly: ${errorMessage(err)}`).catch(() => {});
    }
    throw err;
  } finally {
    await attachLog(run);
  }
  return {
    ok: ending.status === 'succeeded',
    status: ending.status,
    changed: run.changed,
    state: ending.state,
    error: ending.error,
    lockKept: ending.keepLock,
    record: record.document(),
  };
}

async function attachLog(run: ChangeRun): Promise<void> {
  try {
    const text = await readFile(run.logFile, 'utf8').catch(() => '');
    await run.record!.note({ log: await run.record!.attachLog(text) });
  } catch {
    // the log stays local; the record says where the operation ended
  }
}
