import { describeHolder } from '../../../history/lock.js';
import { printable } from '../../../kernel/validate.js';
import type { CommandContext } from '../../context.js';
import { lockDocument, openLock } from './common.js';

export async function run(ctx: CommandContext, opts: { env: string }, [service]: string[]) {
  const lock = await openLock(ctx, { service, env: opts.env });
  const s = await lock.status();
  if (ctx.global.json) return ctx.printer.json(lockDocument(s));
  if (!s.held) return ctx.printer.out(`${service}/${opts.env}: not locked`);
  ctx.printer.out(`${service}/${opts.env}: locked by ${describeHolder(s)}`);
  if (s.heartbeatAt) ctx.printer.out(`  last heartbeat ${printable(s.heartbeatAt)}`);
  if (s.stale) ctx.printer.out(`  STALE: ${s.staleReason}`);
}
