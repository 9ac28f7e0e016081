import { InputError } from '../../../kernel/errors.js';
import { assertName, assertVersion } from '../../../kernel/validate.js';
import { markVersion } from '../../../operations/rejections.js';
import type { CommandContext } from '../../context.js';

interface MarkOptions {
  reason?: string;
}

/** `reject` and `unreject`: the same record, on the host of every environment of the service. */
export async function mark(
  ctx: CommandContext,
  operation: 'reject' | 'unreject',
  opts: MarkOptions,
  [service, version]: string[],
): Promise<void> {
  assertName(service, 'SERVICE');
  assertVersion(version, 'VERSION');
  const reason = opts.reason?.trim();
  if (operation === 'reject' && !reason) throw new InputError('--reason: required (why the version is rejected)');
  const ws = ctx.workspace();
  const parsed = ws.profileOf(service).parseVersion(version, 'VERSION');
  const records = await markVersion(ws, service, operation, parsed, reason);
  if (ctx.global.json) ctx.printer.json({ ok: true, service, version: parsed, operation, reason, records });
  else ctx.printer.out(`${service} ${parsed}: ${operation}ed, recorded on ${records.join(', ')}`);
}
