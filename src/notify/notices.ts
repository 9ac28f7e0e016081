import type { MatrixClient } from './matrix.js';
import { InOrder } from './inOrder.js';

/** Notices posted in order (the end after the start), each in the background (src/notify/inOrder.ts). */
export class RoomNotices {
  private readonly queue = new InOrder();

  constructor(private readonly client: MatrixClient) {}

  /** txnId: the same for every try of this notice, so the room gets it once (src/notify/matrix.ts sendNotice). */
  post(what: string, txnId: string, body: string): void {
    this.queue.add(`the ${what} notice was not posted in ${this.client.room}`, async () => {
      await this.client.sendNotice(txnId, body);
    });
  }

  settled(): Promise<string[]> {
    return this.queue.settled();
  }
}
