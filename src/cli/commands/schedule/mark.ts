import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../../kernel/errors.js';
import { assertName } from '../../../kernel/validate.js';
import { FRESHNESS, freshnessTextfile, TEXTFILE_DIR, type FreshnessKind } from '../../../monitoring/freshness.js';
import type { CommandContext } from '../../context.js';

const KINDS: Record<string, FreshnessKind> = { backup: 'backup', 'restore-test': 'restoreTest' };

/**
 * `schedule mark KIND SERVICE --env ENV [--dir DIR]`: a scheduled unit's last step (its ExecStartPost, run only
 * when the backup or restore test succeeded) writes the freshness metric for node exporter's textfile collector.
 */
export async function run(ctx: CommandContext, opts: { env: string; dir?: string }, [kindText, service]: string[]) {
  const kind = KINDS[kindText];
  if (!kind) throw new InputError(`KIND: "${kindText}" is not one of ${Object.keys(KINDS).join(', ')}`);
  assertName(service, 'SERVICE');
  assertName(opts.env, '--env');
  const dir = path.resolve(ctx.cwd, opts.dir ?? TEXTFILE_DIR);
  const file = freshnessTextfile(kind, service, opts.env, new Date());
  const target = path.join(dir, file.name);
  if (ctx.global.dryRun) return ctx.printer.info(`! skipped (dry run): ${target}`);
  await mkdir(dir, { recursive: true });
  // Not *.prom: the collector never reads the half-written temporary file; rename(2) replaces the old one whole.
  const tmp = path.join(dir, `.${file.name}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, file.text, { mode: 0o644 });
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
  if (ctx.global.json) return ctx.printer.json({ file: target, metric: FRESHNESS[kind] });
  ctx.printer.out(`${target}: ${FRESHNESS[kind]}{service="${service}",env="${opts.env}"}`);
}
