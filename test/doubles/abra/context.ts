import { fatal } from './fatal.js';
import { abraDir, findApp, serverOf, type AppRef, type DoubleServer } from './home.js';
import { sleep } from './log.js';
import { connectServer } from './reach.js';
import { RecipeRepo } from './recipeRepo.js';
import { advanceSwarm } from './tasks.js';
import { hasFault, readSwarm, stackName, type FaultKind, type SwarmApp } from './swarm.js';

/** One app as a command sees it once the server answered: env file, recipe clone, swarm state. */
export interface AppContext {
  dir: string;
  app: AppRef;
  server: DoubleServer;
  repo: RecipeRepo;
  stack: string;
}

export const SLOW_FAULT_MS = 2_000;

/** Finds the app, honours the `slow` fault, then reaches its server over "SSH" before anything touches the swarm. */
export async function reachApp(domain: string | undefined): Promise<AppContext> {
  if (!domain) fatal('no app provided');
  const dir = abraDir();
  const app = findApp(dir, domain);
  const server = serverOf(dir, app.server);
  if (hasFault(readSwarm(server.swarm), domain, 'slow')) await sleep(SLOW_FAULT_MS);
  await connectServer(app.server, server);
  advanceSwarm(server.swarm);
  return { dir, app, server, repo: new RecipeRepo(dir, app.recipe), stack: stackName(domain) };
}

export function deployedApp(ctx: AppContext): SwarmApp | undefined {
  const found = readSwarm(ctx.server.swarm).apps[ctx.app.domain];
  return found?.status === 'deployed' ? found : undefined;
}

// source: operators' notes (reference/abra.md); the "is not deployed?" wording is the double's (U): the driver
// keys on the exit code and FATA line, not this text
export function requireDeployed(ctx: AppContext): SwarmApp {
  return deployedApp(ctx) ?? fatal(`${ctx.app.domain} is not deployed?`);
}

export function faultOn(ctx: AppContext, kind: FaultKind): boolean {
  return hasFault(readSwarm(ctx.server.swarm), ctx.app.domain, kind);
}

/** The env the recipe's compose files are interpolated with. */
export function composeVars(ctx: AppContext): Record<string, string> {
  return { ...ctx.app.vars, STACK_NAME: ctx.stack };
}
