import { LockHeldError } from '../../../kernel/errors.js';
import { describeHolder } from '../../../history/lock.js';
import { currentOperator } from '../../../history/operator.js';
import { recordForcedRelease } from '../../../history/forcedRelease.js';
import type { CommandContext } from '../../context.js';
import { lockDocument, openLock } from './common.js';

export async function run(
  ctx: CommandContext,
  opts: { env: string; force?: boolean; message?: string },
  [service]: string[],
) {
  const env = opts.env;
  const target = await ctx.workspace().target(service, env);
  const lock = await openLock(ctx, { service, env });
  const s = await lock.status();
  if (!s.held) {
    if (ctx.global.json) return ctx.printer.json(lockDocument(s));
    return ctx.printer.out(`${service}/${env}: not locked`);
  }
  const me = currentOperator(ctx.io.env);
  const mine = s.info?.holder === me.name && s.info.kind === 'manual';
  if (!mine && !opts.force) {
    throw new LockHeldError(`${service}/${env} is locked by ${describeHolder(s)}`, {
      hints: [
        s.stale
          ? `it looks stale (${s.staleReason}); break it with --force -m "why"`
          : 'only the holder releases it; --force breaks it (recorded in history)',
      ],
      details: { lock: lockDocument(s) },
    });
  }
  if (mine && !opts.force) {
    await lock.releaseById(s.info!.id);
  } else {
    const before = await lock.forceRelease();
    await recordForcedRelease(target.remote, target.paths.stateDir, service, env, before, opts.message);
  }
  if (ctx.global.json)
    return ctx.printer.json({
      ...lockDocument({ held: false, holder: null, command: null, since: null, heartbeatAt: null, stale: false }),
      released: lockDocument(s),
    });
  ctx.printer.out(`${service}/${env}: lock released${opts.force && !mine ? ' (forced; recorded in history)' : ''}`);
}
