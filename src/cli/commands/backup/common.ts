import { progressText, type Progress } from '../../../backup/index.js';
import type { Judgement } from '../../../backup/leftovers.js';
import { formatBytes, formatDuration } from '../../../kernel/validate.js';
import { InterruptedError } from '../../../kernel/errors.js';
import type { CommandContext } from '../../context.js';
import { installInterruptHandler } from '../../signals.js';

/** Byte progress and throughput on stderr: a line per second (a rewritten line on a terminal). */
export function progressPrinter(ctx: CommandContext): { onProgress: (p: Progress) => void; done: () => void } {
  const text = progressText();
  const tty = Boolean(ctx.io.stderr.isTTY);
  let last = 0;
  let shown = false;
  return {
    onProgress(p) {
      const now = Date.now();
      if (now - last < (tty ? 200 : 1000)) return;
      last = now;
      shown = true;
      if (tty) ctx.io.stderr.write(`\r\x1b[K${text(p)}`);
      else ctx.printer.info(text(p));
    },
    done() {
      if (tty && shown) ctx.io.stderr.write('\r\x1b[K');
    },
  };
}

/**
 * Ctrl-C (SIGINT, SIGTERM) during a backup command stops its transfer; what it started is removed (the object or
 * `.partial` file, the multipart upload, the scratch database, the dump still running on the host) before it
 * exits with 130.
 */
export async function interruptible<T>(ctx: CommandContext, what: string, run: (signal: AbortSignal) => Promise<T>) {
  const interrupt = installInterruptHandler(ctx.printer);
  try {
    return await run(interrupt.signal);
  } catch (err) {
    if (!interrupt.signal.aborted || err instanceof InterruptedError) throw err;
    throw new InterruptedError(`${what} interrupted; what it had started was removed`, { cause: err });
  } finally {
    interrupt.dispose();
  }
}

export function leftoverDocument(j: Judgement) {
  const { remove: _, ...l } = j.leftover;
  return { ...l, prune: j.remove, reason: j.reason };
}

/** KIND NAME WHERE AGE SIZE OWNER, for a table. */
export function leftoverRow(j: Judgement, now: Date): string[] {
  const l = j.leftover;
  return [
    l.kind,
    l.name,
    l.where,
    `${formatDuration(now.getTime() - Date.parse(l.createdAt))} ago`,
    l.size === null ? '?' : formatBytes(l.size),
    l.owner ?? '-',
  ];
}
