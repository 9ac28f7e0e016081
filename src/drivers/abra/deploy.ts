import { errorMessage, ToolOutputError } from '../../kernel/errors.js';
import type { DeployRequest, DeployResult } from '../../targets/driver.js';
import type { Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';
import { abraApp, abraClient, abraConfig, reportingAbraClient } from './app.js';
import type { AbraApp } from './appList.js';
import { withRecipeCheckout } from './checkoutLock.js';
import { readAppEnv } from './envFile.js';
import { AbraError } from './errors.js';
import { convergeTimeoutSeconds } from './recipeLabels.js';
import { stackName, waitForEndingTasks } from './swarm.js';

type Verb = 'upgrade' | 'rollback' | 'deploy' | 'chaos';

/** The app as abra's labels say it runs now, asked afresh. */
async function labelledApp(context: RunContext, t: Target): Promise<AbraApp & { version: string }> {
  const { server, domain } = abraConfig(t);
  const app = await abraApp(context, t, { fresh: true });
  if (!app) throw new ToolOutputError(`abra does not know ${domain} on ${server}`);
  if (app.status !== 'deployed' || !app.version) {
    throw new ToolOutputError(`abra reports ${domain} ${app.status ?? 'in an unknown state'}, with no version`);
  }
  return { ...app, version: app.version };
}

/** The version abra's label says runs now, asked afresh. */
export async function labelledVersion(context: RunContext, t: Target): Promise<string> {
  return (await labelledApp(context, t)).version;
}

/**
 * How abra deploys `version`: upgrade or rollback between releases; `deploy -f` for the one that runs, and from a
 * chaos deploy (upgrade and rollback may refuse one; deploy has no ordering check); and, when the run started on
 * a chaos deploy of that version, that checkout again (`deploy -C`): a recovery must not put a release in its place.
 */
function verbFor(t: Target, version: string, now: AbraApp & { version: string }, start?: AbraApp): Verb {
  if (start?.chaos && start.chaosVersion && start.version === version) return 'chaos';
  const order = t.profile.compareVersions(version, now.version);
  if (now.chaos || order === 0) return 'deploy';
  return order > 0 ? 'upgrade' : 'rollback';
}

/** How long the app may take to converge: the recipe's timeout label at that version (with the env's TIMEOUT). */
export async function convergeBudgetMs(
  context: RunContext,
  t: Target,
  version: string,
): Promise<{ ms: number; from: string }> {
  const fallback = { ms: t.envConfig.health?.timeout ?? 60_000, from: 'health.timeout' };
  const { recipe } = abraConfig(t);
  try {
    const compose = await abraClient(context).recipes.fileAt(recipe, version, 'compose.yml');
    const env = (await readAppEnv(context, t).catch(() => undefined))?.env?.vars ?? {};
    const seconds = compose ? convergeTimeoutSeconds(compose, env) : undefined;
    return seconds ? { ms: seconds * 1000, from: `the recipe's timeout label, ${seconds}s` } : fallback;
  } catch {
    return fallback;
  }
}

/** How long a replaced task may take to end: a migration on boot may outlast the converge timeout, never 2 min. */
async function taskEndBudgetMs(context: RunContext, t: Target, version: string): Promise<number> {
  return Math.max((await convergeBudgetMs(context, t, version)).ms, 120_000);
}

/** Where the app's migration ledger stands; undefined when it has none or it cannot be read. */
function readLedger(t: Target) {
  return t.profile.schemaMark?.(t.remote, t).catch(() => undefined) ?? Promise.resolve(undefined);
}

/**
 * Whether a deploy whose label did not move changed nothing: swarm may have rolled the label back by itself
 * (`failure_action: rollback`) while the failed version's task goes on migrating on boot. So: once the tasks the
 * swarm replaces have ended, the ledger decides; an app without one (or one that cannot be read) may have changed.
 */
async function untouched(
  context: RunContext,
  t: Target,
  before: Awaited<ReturnType<typeof readLedger>>,
  version: string,
  report: (line: string) => void,
): Promise<boolean> {
  if (!before) return false;
  try {
    await waitForEndingTasks(
      t.remote,
      stackName(abraConfig(t).domain),
      await taskEndBudgetMs(context, t, version),
      report,
    );
  } catch (err) {
    report(`cannot tell that the failed deploy changed nothing: ${errorMessage(err)}`);
    return false;
  }
  const after = await readLedger(t);
  return after !== undefined && after.count === before.count && after.newest === before.newest;
}

/**
 * Rolls the stack back to `version` after a failed change, then waits until the tasks of the failed version have
 * ended: one migrating on boot must not write under the ledger read and the restore that follow.
 */
export async function settleApp(context: RunContext, t: Target, report: (line: string) => void, version?: string) {
  if (version !== undefined && (await labelledVersion(context, t).catch(() => undefined)) !== version) {
    const r = await deployApp(context, t, { version, variables: {}, logFile: '', report });
    if (!r.ok) throw new ToolOutputError(`rolling the stack back to ${version} failed: ${r.failure ?? r.summary}`);
    report(r.summary);
  }
  const budget = await taskEndBudgetMs(context, t, version ?? (await labelledVersion(context, t)));
  await waitForEndingTasks(t.remote, stackName(abraConfig(t).domain), budget, report);
}

/** Runs an abra command that checks out the app's recipe, holding that checkout (see checkoutLock.ts). */
export function holdingRecipe<T>(
  context: RunContext,
  t: Target,
  what: string,
  report: (line: string) => void,
  fn: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const { recipe } = abraConfig(t);
  return withRecipeCheckout({ abraDir: abraClient(context).cli.abraDir, recipe, what, signal, onWait: report }, fn);
}

/**
 * `abra app upgrade|rollback DOMAIN VERSION -n` (deploy -f for the version that runs: a restart, as after a
 * restore), holding the recipe checkout. abra's exit code is not the verdict: its converge check can give up while
 * the swarm settles later. What the stack's label says afterwards is: the version asked for → deployed, and
 * coopctl's verification decides; the version of before → nothing was deployed.
 */
export async function deployApp(context: RunContext, t: Target, req: DeployRequest): Promise<DeployResult> {
  const { domain, recipe } = abraConfig(t);
  const now = await labelledApp(context, t);
  const before = now.version;
  const ledger = await readLedger(t);
  // as the run found it (read once at its start), not as the failed change left it
  const start = await abraApp(context, t);
  const verb = verbFor(t, req.version, now, start);
  const commit = start?.chaosVersion?.replace(/\+U$/, '') ?? '';
  const command =
    verb === 'chaos'
      ? `git checkout ${commit} (recipes/${recipe}); abra app deploy ${domain} -C -f -n`
      : `abra app ${verb} ${domain} ${req.version} -n${verb === 'deploy' ? ' -f' : ''}`;
  req.report(command);
  const abra = reportingAbraClient(context, req.report);
  let failure: AbraError | undefined;
  try {
    await holdingRecipe(
      context,
      t,
      `abra app ${verb === 'chaos' ? 'deploy -C' : verb} ${domain}`,
      req.report,
      async () => {
        if (verb === 'upgrade') return abra.upgradeApp(domain, req.version);
        if (verb === 'rollback') return abra.rollbackApp(domain, req.version);
        if (verb === 'deploy') return abra.deployApp(domain, req.version, { force: true });
        await abra.recipes.checkoutCommit(recipe, commit);
        return abra.deployApp(domain, undefined, { force: true, chaos: true });
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
    after = await labelledVersion(context, t);
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
  // abra refused before deploying (a dirty checkout, a version it does not take): no task of it ever started
  const refused = failure?.kind === 'dirty-recipe' || failure?.kind === 'version-refused';
  const changedNothing = after === before && (refused || (await untouched(context, t, ledger, before, req.report)));
  return {
    ok: false,
    summary: `abra app ${verb === 'chaos' ? 'deploy -C' : verb} failed`,
    failure: `${command}: ${why}`,
    hints: failure?.kind === 'dirty-recipe' ? [`the recipe checkout has local changes: see preflight`] : [],
    changedNothing,
    details: { ...details, ledgerBefore: ledger ?? null },
  };
}
