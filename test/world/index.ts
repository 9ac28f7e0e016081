/**
 * The test world as `coopctl sandbox ...` sees it. coopctl loads the compiled
 * form of this module (build/world/test/world/index.js) at run time, from a
 * checkout only; nothing of the product imports the world.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { clearFaults, setFault } from './faults.js';
import { fillDatabase } from './fill.js';
import { sandboxLayout } from './layout.js';
import { passEnv } from './passStore.js';
import { sandboxDown, sandboxProcesses, sandboxUp, type UpOptions } from './world.js';

export { sandboxDown as down, sandboxProcesses as processes, setFault, clearFaults, fillDatabase as fill };

/**
 * Builds the sandbox, or starts what is not running of an existing one.
 * `env`: what an operator's shell exports to use it (its pass store).
 */
export async function up(opts: UpOptions) {
  const state = await sandboxUp(opts);
  const layout = sandboxLayout(opts.dir);
  return { state, config: layout.config, env: passEnv(layout) };
}

/** The sandbox directory of `file` when `sandbox up` wrote it (its coopctl.yaml), else undefined. */
export async function dirOfConfig(file: string): Promise<string | undefined> {
  const layout = sandboxLayout(path.dirname(file));
  if (path.resolve(file) !== layout.config || !existsSync(layout.config)) return undefined;
  if (existsSync(layout.state)) return layout.root;
  return readFileSync(layout.config, 'utf8').startsWith('# Written by `coopctl sandbox up`') ? layout.root : undefined;
}
