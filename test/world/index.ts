/**
 * The test world as `coopctl sandbox ...` sees it. coopctl loads the compiled
 * form of this module (build/world/test/world/index.js) at run time, from a
 * checkout only; nothing of the product imports the world.
 */
import { clearFaults, setFault } from './faults.js';
import { sandboxLayout } from './layout.js';
import { sandboxDown, sandboxProcesses, sandboxUp, type UpOptions } from './world.js';

export { sandboxDown as down, sandboxProcesses as processes, setFault, clearFaults };

/** Builds the sandbox, or starts what is not running of an existing one. */
export async function up(opts: UpOptions) {
  const state = await sandboxUp(opts);
  return { state, config: sandboxLayout(opts.dir).config };
}

