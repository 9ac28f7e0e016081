import type { Printer } from '../kernel/io.js';

/**
 * SIGINT/SIGTERM abort the operation's signal: the pipeline finishes or undoes
 * the current step, restores if needed, records `cancelled` and releases the
 * lock. A second signal while that runs is refused with a warning; a third one
 * exits at once (the lock then goes stale and the next run says so).
 */
export function installInterruptHandler(printer: Printer): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let count = 0;
  const handler = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      printer.warn(`${sig}: stopping safely — finishing or undoing the current step, then restoring if needed`);
      controller.abort(new Error(sig));
    } else if (count === 2) {
      printer.warn('still cleaning up (restore, history, lock); interrupt once more to abandon it (not recommended)');
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
