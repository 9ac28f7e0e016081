import type { CommandContext } from '../../context.js';
import { takeManualLock } from '../../../history/manualLock.js';
import { printable } from '../../../kernel/validate.js';
import { openLock } from './common.js';

export async function run(ctx: CommandContext, opts: { env: string; message?: string }, [service]: string[]) {
  const lock = await openLock(ctx, { service, env: opts.env });
  const info = await takeManualLock(lock, { message: opts.message, dryRun: ctx.global.dryRun }, ctx.io.env);
  if (ctx.global.json)
    return ctx.printer.json({
      held: true,
      holder: info.holder,
      command: info.command,
      since: info.since,
      heartbeatAt: info.heartbeatAt,
      stale: false,
      id: info.id,
    });
  const message = opts.message ? ` — "${opts.message}"` : '';
  ctx.printer.out(`${service}/${opts.env}: locked by ${printable(`${info.holder}${message}`)}`);
  ctx.printer.info(`release with: coopctl lock release ${service} --env ${opts.env}`);
}
