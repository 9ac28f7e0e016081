import type { Target } from '../../targets/target.js';
import type { Workspace } from '../../workspace/workspace.js';
import type { AbraApp } from './appList.js';
import { AbraClient } from './client.js';
import type { AbraSettings } from './cli.js';
import type { AbraServiceConfig } from './config.js';

/** The abra CLI as configured (a bin path with a slash is relative to the config file). */
function abraSettings(ws: Workspace): AbraSettings {
  const a = ws.config.abra;
  const bin = a.bin.includes('/') ? ws.loaded.resolvePath(a.bin) : a.bin;
  return { bin, dir: a.dir ? ws.loaded.resolvePath(a.dir) : undefined };
}

/** The abra CLI for reads; one per run. */
export function abraClient(ws: Workspace): AbraClient {
  return ws.once('abra-client', () => new AbraClient({ runner: ws.runner, settings: abraSettings(ws) }));
}

/** The abra CLI for a change whose output lines go under a stage (a deploy, a backup). */
export function reportingAbraClient(ws: Workspace, onLine: (line: string) => void): AbraClient {
  return new AbraClient({ runner: ws.runner, settings: abraSettings(ws), onLine: (line) => onLine(line) });
}

/** The recipe of the service and the server and domain of the target's environment. */
export function abraConfig(t: Target): { recipe: string; server: string; domain: string } {
  const svc = t.serviceConfig as AbraServiceConfig;
  const env = svc.environments[t.env];
  return { recipe: svc.recipe, server: env.server, domain: env.domain };
}

/** `abra app ls` of the target's server, read once per run for all its apps. */
function serverApps(ws: Workspace, server: string): Promise<AbraApp[]> {
  return ws.once(`abra-apps:${server}`, () => {
    const p = abraClient(ws).listApps(server);
    p.catch(() => {});
    return p;
  });
}

/**
 * The target's app as abra lists it; undefined when abra does not know it. `fresh` asks abra again: after a
 * change, the list read at the start of the run is out of date.
 */
export async function abraApp(ws: Workspace, t: Target, opts: { fresh?: boolean } = {}): Promise<AbraApp | undefined> {
  const { server, domain } = abraConfig(t);
  const apps = opts.fresh ? await abraClient(ws).listApps(server) : await serverApps(ws, server);
  return apps.find((a) => a.domain === domain);
}
