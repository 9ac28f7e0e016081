import { readHistory } from '../../operations/history.js';
import { InputError } from '../../kernel/errors.js';
import { assertName, printable } from '../../kernel/validate.js';
import type { CommandContext } from '../context.js';
import { table } from '../format.js';

export async function run(ctx: CommandContext, opts: { env?: string; limit?: string }, [service]: string[]) {
  if (service) assertName(service, 'SERVICE');
  if (opts.env) assertName(opts.env, '--env');
  const limit = Number(opts.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new InputError(`--limit: "${opts.limit}" must be a number from 1 to 1000`);
  const { records, problems } = await readHistory(ctx.workspace(), { service, env: opts.env }, limit);
  const p = ctx.printer;
  if (ctx.global.json) {
    p.json({ records, ...(problems.length ? { problems } : {}) });
    return;
  }
  const color = (s: string) =>
    s === 'succeeded' ? p.style('green', s) : s === 'pending' ? p.style('yellow', s) : p.style('red', s);
  p.out(
    table(
      records.map((r) =>
        [
          r.startedAt.replace(/\.\d+Z$/, 'Z'),
          `${r.service}/${r.env}`,
          r.operation,
          r.from || r.to ? `${r.from ?? '?'} → ${r.to ?? '?'}` : String(r.details.version ?? ''),
          r.status,
          r.operator,
          r.backupId ?? '',
          r.id,
        ].map((cell, i) => (i === 4 ? color(printable(cell)) : printable(String(cell)))),
      ),
      ['STARTED', 'SERVICE/ENV', 'OPERATION', 'VERSIONS', 'STATUS', 'OPERATOR', 'BACKUP', 'RECORD'],
    ),
  );
  for (const r of records.filter((x) => x.status !== 'succeeded' && x.transitions.at(-1)?.note))
    p.out(`  ${r.id}: ${printable(r.transitions.at(-1)!.note ?? '')}`);
  for (const pr of problems) p.warn(`${pr.service}/${pr.env}: history not readable: ${pr.message}`);
}
