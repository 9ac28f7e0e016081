import path from 'node:path';
import { InputError } from '../../../kernel/errors.js';
import { clearFaults, setFault } from '../../../sandbox/faults.js';
import type { CommandContext } from '../../context.js';

export async function run(ctx: CommandContext, opts: { dir: string; clear?: boolean }, [target, kind]: string[]) {
  const dir = path.resolve(ctx.cwd, opts.dir);
  let state;
  if (opts.clear) {
    if (kind) throw new InputError('--clear takes at most a TARGET, not a KIND');
    state = await clearFaults(dir, target);
  } else {
    if (!target || !kind) throw new InputError('sandbox fault needs TARGET and KIND (e.g. `coopctl sandbox fault alpha health-fails`), or --clear');
    state = await setFault(dir, target, kind);
  }
  if (ctx.global.json) return ctx.printer.json({ faults: state.faults });
  ctx.printer.out(state.faults.length ? `active faults: ${state.faults.map((f) => `${f.target} ${f.kind}`).join(', ')}` : 'no active faults');
}
