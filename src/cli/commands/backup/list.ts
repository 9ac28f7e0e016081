import { listBackups, manifestDocument, verificationState, verifiedHow, type Manifest } from '../../../backup/index.js';
import { assertName, formatBytes, formatDuration } from '../../../kernel/validate.js';
import type { CommandContext } from '../../context.js';
import { table } from '../../format.js';
import { openBackupStore } from '../../../targets/backups.js';

function state(ctx: CommandContext, m: Manifest): string {
  const s = verificationState(m);
  if (s === 'verified') return ctx.printer.style('green', `yes (${verifiedHow(m)})`);
  if (s === 'failed') return ctx.printer.style('red', 'FAILED');
  return ctx.printer.style('yellow', 'no');
}

export async function run(ctx: CommandContext, opts: { env?: string; store?: string }, [service]: string[]) {
  if (service) assertName(service, 'SERVICE');
  if (opts.env) assertName(opts.env, '--env');
  const store = await openBackupStore(ctx.workspace(), opts.store);
  const { backups, problems } = await listBackups(store, { service, env: opts.env });
  const p = ctx.printer;
  if (ctx.global.json) return p.json({ backups: backups.map(manifestDocument), problems });
  if (backups.length === 0) p.info(`no backups in ${store.description}`);
  else {
    p.out(
      table(
        backups.map((m) => [
          m.id,
          m.service,
          m.env,
          `${formatDuration(Date.now() - Date.parse(m.createdAt))} ago`,
          formatBytes(m.size),
          m.version ?? '?',
          state(ctx, m),
        ]),
        ['ID', 'SERVICE', 'ENV', 'AGE', 'SIZE', 'VERSION', 'VERIFIED'],
      ),
    );
  }
  for (const x of problems) p.warn(`${x.key}: ${x.message}`);
}
