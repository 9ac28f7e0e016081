import type { CommandContext } from '../../context.js';
import { table } from '../../format.js';
import { loadWorld, sandboxDir } from './common.js';

export async function run(ctx: CommandContext, opts: { dir?: string }) {
  const world = await loadWorld();
  const dir = await sandboxDir(ctx, world, opts.dir);
  const { state, processes, link } = await world.processes(dir);
  if (ctx.global.json)
    return ctx.printer.json({ dir, mode: state.mode, link: state.link ?? 'none', processes, faults: state.faults });
  const p = ctx.printer;
  p.out(
    table(
      processes.map((x) => [
        x.what,
        x.running ? p.style('green', 'running') : p.style('red', 'not answering'),
        x.where ?? '',
      ]),
      ['PROCESS', 'STATE', 'WHERE'],
    ),
  );
  p.out(`\n${link}`);
  p.out(
    state.faults.length
      ? `\nfaults: ${state.faults.map((f) => `${f.target} ${f.kind} (since ${f.since})`).join(', ')}`
      : '\nno faults',
  );
}
