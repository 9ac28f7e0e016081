import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LockHeldError, OperationError } from '../kernel/errors.js';
import { localStateDir } from '../kernel/logs.js';
import { breakRefusal, recordForcedRelease } from './forcedRelease.js';
import { describeHolder, type HostLock, type LockInfo, type LockStatus } from './lock.js';
import { currentOperator } from './operator.js';

/**
 * A manual lock belongs to whoever holds its id, not to a display name: anyone can set COOPCTL_OPERATOR.
 * The id stays on the laptop that took the lock, under $XDG_STATE_HOME/coopctl/locks/.
 */
function idFile(lock: HostLock, env: NodeJS.ProcessEnv): string {
  const key = createHash('sha256').update(lock.location).digest('hex').slice(0, 16);
  return path.join(localStateDir(env), 'locks', `${lock.service}-${lock.env}-${key}.json`);
}

async function ownedId(lock: HostLock, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  try {
    const doc = JSON.parse(await readFile(idFile(lock, env), 'utf8')) as { id?: unknown };
    return typeof doc.id === 'string' ? doc.id : undefined;
  } catch {
    return undefined;
  }
}

/** `lock acquire`: takes a manual lock and keeps its id here, which is what lets `lock release` release it. */
export async function takeManualLock(
  lock: HostLock,
  opts: { message?: string; dryRun?: boolean },
  env: NodeJS.ProcessEnv,
): Promise<LockInfo> {
  const info = await lock.acquire({ command: 'lock acquire', message: opts.message, kind: 'manual' });
  if (opts.dryRun) return info;
  const file = idFile(lock, env);
  try {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, `${JSON.stringify({ id: info.id, lock: lock.location, since: info.since })}\n`, {
      mode: 0o600,
    });
  } catch (err) {
    await lock.releaseById(info.id).catch(() => {});
    throw new OperationError(`could not keep the id of the lock in ${file}, so it was released again: ${err}`);
  }
  return info;
}

/** What `lock release` did: released our own lock, broke someone's (recorded), or found none. */
type Released = { released: LockStatus; forced: boolean } | undefined;

/**
 * `lock release`: our own manual lock (its id is here) without --force; anyone's with --force, moved aside
 * and recorded in the history.
 */
export async function releaseManualLock(
  lock: HostLock,
  opts: { force?: boolean; message?: string },
  env: NodeJS.ProcessEnv,
): Promise<Released> {
  const s = await lock.status();
  const id = await ownedId(lock, env);
  if (!s.held) {
    if (id) await rm(idFile(lock, env), { force: true });
    return undefined;
  }
  // Its id kept here, and the same name: two operators may share one login, never one lock.
  const sameName = s.info?.holder === currentOperator(env).name;
  const mine = s.info?.kind === 'manual' && id === s.info.id && sameName;
  if (mine && !opts.force) {
    if (!(await lock.releaseById(id))) throw new OperationError('the lock changed hands while it was released');
    await rm(idFile(lock, env), { force: true });
    return { released: s, forced: false };
  }
  if (!opts.force) {
    throw new LockHeldError(`${lock.service}/${lock.env} is locked by ${describeHolder(s)}`, {
      hints: [
        s.stale
          ? `it looks stale (${s.staleReason}); break it with --force -m "why"`
          : sameName
            ? 'it was not taken from here (its id is not under $XDG_STATE_HOME/coopctl/locks); ' +
              '--force breaks it (recorded in history)'
            : 'only the holder releases it; --force breaks it (recorded in history)',
      ],
      details: { lock: s },
    });
  }
  const outcome = await lock.breakLock(s);
  await recordForcedRelease(lock, s, outcome, opts.message);
  if (!outcome.broken) {
    throw new LockHeldError(
      `${lock.service}/${lock.env}: the lock of ${describeHolder(s)} was ${breakRefusal(outcome)}`,
      {
        hints: [`see who holds it now: coopctl lock status ${lock.service} --env ${lock.env}`],
      },
    );
  }
  if (id) await rm(idFile(lock, env), { force: true });
  return { released: s, forced: true };
}
