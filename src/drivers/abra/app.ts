import type { Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';
import type { AbraApp } from './appList.js';
import { AbraClient } from './client.js';
import type { AbraSettings } from './cli.js';
import type { AbraServiceConfig } from './config.js';

/** The abra CLI as configured (a bin path with a slash is relative to the config file). */
function abraSettings(context: RunContext): AbraSettings {
  const a = context.config.abra;
  const bin = a.bin.includes('/') ? context.loaded.resolvePath(a.bin) : a.bin;
  return { bin, dir: a.dir ? context.loaded.resolvePath(a.dir) : undefined };
}

/** The abra CLI for reads; one per run. */
export function abraClient(context: RunContext): AbraClient {
  return context.once('abra-client', () => new AbraClient({ runner: context.runner, settings: abraSettings(context) }));
}

/** The abra CLI for a change whose output lines go under a stage (a deploy, a backup). */
export function reportingAbraClient(context: RunContext, onLine: (line: string) => void): AbraClient {
  return new AbraClient({ runner: context.runner, settings: abraSettings(context), onLine: (line) => onLine(line) });
}

/** The recipe of the service and the server and domain of the target's environment. */
export function abraConfig(t: Target): { recipe: string; server: string; domain: string } {
  const svc = t.serviceConfig as AbraServiceConfig;
  const env = svc.environments[t.env];
  return { recipe: svc.recipe, server: env.server, domain: env.domain };
}

/** `abra app ls` of the target's server, read once per run for all its apps. */
function serverApps(context: RunContext, server: string): Promise<AbraApp[]> {
  return context.once(`abra-apps:${server}`, () => {
    const p = abraClient(context).listApps(server);
    p.catch(() => {});
    return p;
  });
}

/**
 * The target's app as abra lists it; undefined when abra does not know it. `fresh` asks abra again: after a
 * change, the list read at the start of the run is out of date.
 */
export async function abraApp(
  context: RunContext,
  t: Target,
  opts: { fresh?: boolean } = {},
): Promise<AbraApp | undefined> {
  const { server, domain } = abraConfig(t);
  const apps = opts.fresh ? await abraClient(context).listApps(server) : await serverApps(context, server);
  return apps.find((a) => a.domain === domain);
}
