import { releaseManualLock } from '../../../history/manualLock.js';
import type { CommandContext } from '../../context.js';
import { lockDocument, openLock } from './common.js';

export async function run(
  ctx: CommandContext,
  opts: { env: string; force?: boolean; message?: string },
  [service]: string[],
) {
  const env = opts.env;
  const lock = await openLock(ctx, { service, env });
  const r = await releaseManualLock(lock, { force: opts.force, message: opts.message }, ctx.io.env);
  const free = lockDocument({ held: false, holder: null, command: null, since: null, heartbeatAt: null, stale: false });
  if (!r) {
    if (ctx.global.json) return ctx.printer.json(free);
    return ctx.printer.out(`${service}/${env}: not locked`);
  }
  if (ctx.global.json) return ctx.printer.json({ ...free, released: lockDocument(r.released) });
  ctx.printer.out(`${service}/${env}: lock released${r.forced ? ' (forced; recorded in history)' : ''}`);
}
