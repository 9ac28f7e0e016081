import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../kernel/errors.js';
import { redact } from '../kernel/redact.js';
import { alertNotice, parseWebhook } from './alertNotice.js';
import type { MatrixClient } from './matrix.js';

const MAX_BODY = 1024 * 1024;

/**
 * Alertmanager's webhook receiver: each POST (a notification of one alert group) becomes one m.notice in the room.
 * It answers 200 once the homeserver has the notice, 502 when it could not post it, so that Alertmanager tries the
 * notification again (with the same transaction id: src/notify/alertNotice.ts), 400 for a body that is not a
 * webhook payload.
 */
export function alertRelay(client: MatrixClient, log: (line: string) => void): http.Server {
  return http.createServer((req, res) => {
    const answer = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${text}\n`);
    };
    if (req.method !== 'POST') return answer(405, 'POST an Alertmanager webhook payload');
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', async () => {
      if (size > MAX_BODY) return answer(413, `the body is over ${MAX_BODY} bytes`);
      let notice;
      try {
        notice = alertNotice(parseWebhook(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        log(`refused a webhook: ${errorMessage(err)}`);
        return answer(400, errorMessage(err));
      }
      try {
        const event = await client.sendNotice(notice.txnId, notice.body);
        log(`posted ${notice.txnId} as ${event}: ${notice.body.split('\n')[0]}`);
        answer(200, event);
      } catch (err) {
        const why = redact(`not posted in ${client.room}: ${errorMessage(err)}`);
        log(`${notice.txnId} ${why}`);
        answer(502, why);
      }
    });
  });
}

/** Listens on `host:port`; the address it got (port 0: a free one). */
export async function listen(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}
