import { InputError } from '../../../kernel/errors.js';
import type { CommandContext } from '../../context.js';
import { loadWorld, sandboxDir } from './common.js';

export async function run(ctx: CommandContext, opts: { dir?: string; clear?: boolean }, [target, kind]: string[]) {
  if (opts.clear && kind) throw new InputError('--clear takes at most a TARGET, not a KIND');
  if (!opts.clear && (!target || !kind))
    throw new InputError(
      'sandbox fault needs TARGET and KIND (e.g. `coopctl sandbox fault alpha health-fails`), or --clear',
    );
  const world = await loadWorld();
  const dir = await sandboxDir(ctx, world, opts.dir);
  const state = opts.clear ? await world.clearFaults(dir, target) : await world.setFault(dir, target, kind);
  if (ctx.global.json) return ctx.printer.json({ faults: state.faults });
  ctx.printer.out(
    state.faults.length
      ? `active faults: ${state.faults.map((f) => `${f.target} ${f.kind}`).join(', ')}`
      : 'no active faults',
  );
}
