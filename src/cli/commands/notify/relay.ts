import { matrixClientOf } from '../../../checks/matrix.js';
import { InputError } from '../../../kernel/errors.js';
import { alertRelay, listen } from '../../../notify/relay.js';
import type { CommandContext } from '../../context.js';

/** `host:port` of --listen; a bare port listens on loopback only (the relay takes posts from anyone who reaches it). */
function listenAddress(value: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port > 65535) throw new InputError(`--listen: "${value}" is not HOST:PORT or PORT (e.g. 127.0.0.1:9088)`);
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/**
 * `notify relay --listen ADDR`: Alertmanager's webhook receiver (monitoring.alertmanager.webhook points here), each
 * notification posted as one notice in the `notify.matrix` room. Runs until SIGINT or SIGTERM.
 */
export async function run(ctx: CommandContext, opts: { listen: string }) {
  const { host, port } = listenAddress(opts.listen);
  const ws = ctx.workspace();
  if (!ws.config.notify.matrix) throw new InputError('notify relay: coopctl.yaml has no notify.matrix to post in');
  const client = (await matrixClientOf(ws))!;
  const p = ctx.printer;
  const server = alertRelay(client, (line) => p.info(line));
  const at = await listen(server, host, port);
  p.info(`relaying Alertmanager's webhooks on http://${at.address}:${at.port}/ to ${client.room}`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
