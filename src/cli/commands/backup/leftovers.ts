import { assertName } from '../../../kernel/validate.js';
import { findLeftovers } from '../../../operations/leftovers.js';
import { openBackupStore } from '../../../backup/configured.js';
import type { CommandContext } from '../../context.js';
import { table } from '../../format.js';
import { leftoverDocument, leftoverRow } from './common.js';

/** What runs of SERVICE/ENV left behind, with age, size, owner, and whether `backup prune` removes it. */
export async function run(ctx: CommandContext, opts: { env: string; store?: string }, [service]: string[]) {
  assertName(service, 'SERVICE');
  assertName(opts.env, '--env');
  const ws = ctx.workspace();
  const store = await openBackupStore(ws, opts.store);
  const now = new Date();
  const judged = await findLeftovers(ws, { service, env: opts.env, store, now });
  const p = ctx.printer;
  if (ctx.global.json) return p.json({ leftovers: judged.map(leftoverDocument) });
  if (judged.length === 0) return p.info(`nothing left behind by ${service}/${opts.env}`);
  p.out(
    table(
      judged.map((j) => [...leftoverRow(j, now), j.remove ? `prune removes it (${j.reason})` : `kept: ${j.reason}`]),
      ['KIND', 'NAME', 'WHERE', 'AGE', 'SIZE', 'OWNER', 'PRUNE'],
    ),
  );
}
