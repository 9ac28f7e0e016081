import type { CommandContext } from '../../context.js';
import { mark } from './common.js';

export const run = (ctx: CommandContext, opts: { reason?: string }, args: string[]) => mark(ctx, 'reject', opts, args);
