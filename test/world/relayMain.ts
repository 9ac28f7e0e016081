// The sandbox's link relay as a process (started detached by `sandbox up`, in the namespace it serves).
// Usage: relayMain.js ROUTES_JSON   (an array of RelayRoute)
import { type RelayRoute, startRelay } from './relay.js';

const routes = JSON.parse(process.argv[2] ?? '[]') as RelayRoute[];
const relay = await startRelay(routes);
process.stdout.write(`relaying ${routes.map((r) => `${r.listen.host}:${r.listen.port}`).join(', ')}\n`);
const stop = () => relay.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
