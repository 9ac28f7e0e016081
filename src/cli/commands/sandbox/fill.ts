import { formatBytes, sizeFlag } from '../../../kernel/validate.js';
import type { CommandContext } from '../../context.js';
import { loadWorld, sandboxDir } from './common.js';

export async function run(ctx: CommandContext, opts: { dir?: string; size: string }, [env]: string[]) {
  const bytes = sizeFlag(opts.size, '--size');
  const world = await loadWorld();
  const dir = await sandboxDir(ctx, world, opts.dir);
  const started = Date.now();
  const r = await world.fill(dir, env, bytes, (l) => ctx.printer.info(`• ${l}`));
  if (ctx.global.json) return ctx.printer.json(r);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const added = (k: 'accounts' | 'statuses' | 'media') => (r.after[k] ?? 0) - (r.before[k] ?? 0);
  if (r.after.bytes === r.before.bytes) {
    ctx.printer.out(
      `${env}: ${r.database} is already ${formatBytes(r.before.bytes)} (asked ${formatBytes(bytes)}): nothing added`,
    );
    return;
  }
  const rows = [`+${added('accounts')} accounts`, `+${added('statuses')} statuses`];
  rows.push(r.after.media === null ? '(no media_attachments table in this schema)' : `+${added('media')} media`);
  ctx.printer.out(
    `${env}: ${r.database} grew from ${formatBytes(r.before.bytes)} to ${formatBytes(r.after.bytes)} ` +
      `(asked ${formatBytes(bytes)}) in ${seconds}s: ${rows.join(', ')}`,
  );
}
