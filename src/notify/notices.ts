import type { MatrixClient } from './matrix.js';
import { InOrder } from './inOrder.js';

/**
 * Notices posted in order (the end after the start), each in the background (src/notify/inOrder.ts). The client is
 * made at the first post (its token resolved then, or already by the preflight's matrix check: once per run).
 */
export class RoomNotices {
  private readonly queue = new InOrder();
  private client?: Promise<MatrixClient>;

  constructor(
    readonly room: string,
    private readonly connect: () => Promise<MatrixClient>,
  ) {}

  /** txnId: the same for every try of this notice, so the room gets it once (src/notify/matrix.ts sendNotice). */
  post(what: string, txnId: string, body: string): void {
    this.queue.add(`the ${what} notice was not posted in ${this.room}`, async () => {
      this.client ??= this.connect();
      await (await this.client).sendNotice(txnId, body);
    });
  }

  settled(): Promise<string[]> {
    return this.queue.settled();
  }
}
