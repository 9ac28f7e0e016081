import type { CommandContext } from '../../context.js';
import { loadWorld, sandboxDir } from './common.js';

export async function run(ctx: CommandContext, opts: { dir?: string; purge?: boolean }) {
  const world = await loadWorld();
  const dir = await sandboxDir(ctx, world, opts.dir);
  await world.down(dir, !!opts.purge);
  if (ctx.global.json) return ctx.printer.json({ dir, stopped: true, purged: !!opts.purge });
  ctx.printer.out(`sandbox at ${dir} stopped${opts.purge ? ' and deleted' : ''}`);
}
