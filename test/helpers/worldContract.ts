import type { SandboxWorld } from '../../src/cli/commands/sandbox/common.js';
import * as world from '../world/index.js';

/**
 * `coopctl sandbox` loads the built test world at run time, so nothing in
 * the product's build checks that the two agree. This does, in the type
 * check of the whole tree (`tsc --noEmit -p .`).
 */
export const worldContract: SandboxWorld = world;
