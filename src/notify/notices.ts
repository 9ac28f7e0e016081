import { errorMessage } from '../kernel/errors.js';
import { redact } from '../kernel/redact.js';
import type { MatrixClient } from './matrix.js';

/**
 * Notices posted in order (the end after the start), each in the background: a change never waits for the room,
 * and a post that fails after its tries is a warning, never an error. `settled()` gives the warnings once every
 * post is done, for the report.
 */
export class RoomNotices {
  private last: Promise<void> = Promise.resolve();
  private readonly warnings: string[] = [];

  constructor(private readonly client: MatrixClient) {}

  /** txnId: the same for every try of this notice, so the room gets it once (src/notify/matrix.ts sendNotice). */
  post(what: string, txnId: string, body: string): void {
    this.last = this.last.then(async () => {
      try {
        await this.client.sendNotice(txnId, body);
      } catch (err) {
        this.warnings.push(redact(`the ${what} notice was not posted in ${this.client.room}: ${errorMessage(err)}`));
      }
    });
  }

  async settled(): Promise<string[]> {
    await this.last;
    return [...this.warnings];
  }
}
