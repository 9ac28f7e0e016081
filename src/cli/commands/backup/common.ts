import { progressText, type Progress } from '../../../backup/index.js';
import type { CommandContext } from '../../context.js';

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
