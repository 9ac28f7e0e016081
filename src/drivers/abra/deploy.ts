import { errorMessage, ToolOutputError } from '../../kernel/errors.js';
import type { DeployRequest, DeployResult } from '../../targets/driver.js';
import type { Target } from '../../targets/target.js';
import type { Workspace } from '../../targets/workspace.js';
import { abraApp, abraClient, abraConfig, reportingAbraClient } from './app.js';
import { withRecipeCheckout } from './checkoutLock.js';
import { AbraError } from './errors.js';

type Verb = 'upgrade' | 'rollback' | 'deploy';

/** The version abra's label says runs now, asked afresh. */
export async function labelledVersion(ws: Workspace, t: Target): Promise<string> {
  const { server, domain } = abraConfig(t);
  const app = await abraApp(ws, t, { fresh: true });
  if (!app) throw new ToolOutputError(`abra does not know ${domain} on ${server}`);
  if (app.status !== 'deployed' || !app.version) {
    throw new ToolOutputError(`abra reports ${domain} ${app.status ?? 'in an unknown state'}, with no version`);
  }
  return app.version;
}

/** Runs an abra command that checks out the app's recipe, holding that checkout (see checkoutLock.ts). */
export function holdingRecipe<T>(
  ws: Workspace,
  t: Target,
  what: string,
  report: (line: string) => void,
  fn: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const { recipe } = abraConfig(t);
  return withRecipeCheckout({ abraDir: abraClient(ws).cli.abraDir, recipe, what, signal, onWait: report }, fn);
}

/**
 * `abra app upgrade|rollback DOMAIN VERSION -n` (deploy -f for the version that runs: a restart, as after a
 * restore), holding the recipe checkout. abra's exit code is not the verdict: its converge check can give up while
 * the swarm settles later. What the stack's label says afterwards is: the version asked for → deployed, and
 * coopctl's verification decides; the version of before → nothing was deployed.
 */
export async function deployApp(ws: Workspace, t: Target, req: DeployRequest): Promise<DeployResult> {
  const { domain } = abraConfig(t);
  const before = await labelledVersion(ws, t);
  const order = t.profile.compareVersions(req.version, before);
  const verb: Verb = order > 0 ? 'upgrade' : order < 0 ? 'rollback' : 'deploy';
  const command = `abra app ${verb} ${domain} ${req.version} -n${verb === 'deploy' ? ' -f' : ''}`;
  req.report(command);
  const abra = reportingAbraClient(ws, req.report);
  let failure: AbraError | undefined;
  try {
    await holdingRecipe(
      ws,
      t,
      `abra app ${verb} ${domain}`,
      req.report,
      async () => {
        if (verb === 'upgrade') return abra.upgradeApp(domain, req.version);
        if (verb === 'rollback') return abra.rollbackApp(domain, req.version);
        return abra.deployApp(domain, req.version, { force: true });
      },
      req.signal,
    );
  } catch (err) {
    if (!(err instanceof AbraError)) throw err;
    failure = err;
  }
  let after: string | undefined;
  let afterError: string | undefined;
  try {
    after = await labelledVersion(ws, t);
  } catch (err) {
    afterError = errorMessage(err);
  }
  const details = { command, before, after: after ?? null, abraFailure: failure?.fatal ?? null };
  if (after === req.version) {
    const summary = failure
      ? `the stack runs ${after}; abra said "${failure.fatal}": coopctl's verification decides`
      : `${domain} runs ${after} (abra: converged)`;
    return { ok: true, summary, details };
  }
  const why = failure ? failure.message : `abra finished, but ${domain} reports ${after ?? afterError}`;
  return {
    ok: false,
    summary: `abra app ${verb} failed`,
    failure: `${command}: ${why}`,
    hints: failure?.kind === 'dirty-recipe' ? [`the recipe checkout has local changes: see preflight`] : [],
    changedNothing: after === before,
    details,
  };
}
