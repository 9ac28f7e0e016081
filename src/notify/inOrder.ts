import { errorMessage } from '../kernel/errors.js';
import { redact } from '../kernel/redact.js';

/**
 * Tasks run in the background one after another, in the order given (a silence is expired after it was created, an
 * end notice posted after the start). A change never waits for them, and a task that fails is a warning, never an
 * error: `settled()` gives the warnings once every task is done, for the report.
 */
export class InOrder {
  private last: Promise<void> = Promise.resolve();
  private readonly warnings: string[] = [];

  /** `task` after those before it; when it throws, the warning `what: <why>`. */
  add(what: string, task: () => Promise<void>): void {
    this.last = this.last.then(async () => {
      try {
        await task();
      } catch (err) {
        this.warnings.push(redact(`${what}: ${errorMessage(err)}`));
      }
    });
  }

  async settled(): Promise<string[]> {
    await this.last;
    return [...this.warnings];
  }
}
