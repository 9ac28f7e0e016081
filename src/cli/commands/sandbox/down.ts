import path from 'node:path';
import { sandboxDown } from '../../../sandbox/world.js';
import type { CommandContext } from '../../context.js';

export async function run(ctx: CommandContext, opts: { dir: string; purge?: boolean }) {
  const dir = path.resolve(ctx.cwd, opts.dir);
  await sandboxDown(dir, !!opts.purge);
  if (ctx.global.json) return ctx.printer.json({ dir, stopped: true, purged: !!opts.purge });
  ctx.printer.out(`sandbox at ${dir} stopped${opts.purge ? ' and deleted' : ''}`);
}
