import { MIGRATES_ON_BOOT, migrate, releaseMigrations } from '../appDb.js';
import { failingTask, replaceLingering, replaceTask } from '../tasks.js';
import { flag, type ParsedArgs } from '../args.js';
import { composeVars, deployedApp, faultOn, reachApp, type AppContext } from '../context.js';
import { fatal } from '../fatal.js';
import { pinVersion } from '../home.js';
import { info, out } from '../log.js';
import { assertCanPrompt, confirm } from '../prompt.js';
import type { RecipeRelease } from '../recipeRepo.js';
import { DEFAULT_CONVERGE_DELAY_SECONDS, readSwarm, updateSwarm } from '../swarm.js';
import { overview } from '../table.js';
import { compareVersions, isOrdered, parseVersion } from '../versions.js';

export type ReleaseMode = 'upgrade' | 'rollback' | 'deploy';

interface Target {
  /** The release tag to check out; undefined for a chaos deploy of the working tree. */
  tag?: string;
  version: string;
  chaos: boolean;
}

// source: operators' notes (reference/abra.md: upgrade offers only greater versions, rollback only lower ones,
// "no available upgrades" exit 0 — all U; deploy refuses a deployed app without -f/-C, C; `deploy <older> -f`
// downgrades silently, C). The U rules are taken as the harsher reading: refuse, don't guess.
function pickUpgradeOrRollback(
  ctx: AppContext,
  mode: 'upgrade' | 'rollback',
  requested: string | undefined,
): Target | undefined {
  const { domain, recipe } = ctx.app;
  const running = deployedApp(ctx) ?? fatal(`${domain} is not deployed?`);
  const current = parseVersion(running.version);
  // source: none confirms what abra app upgrade|rollback does from a chaos deploy (reference/production.md: U): the
  // harsher reading refuses; `abra app deploy VERSION -f` has no ordering check (C) and takes a release from it
  if (running.chaos || !current || !isOrdered(current)) {
    fatal(
      `${domain} runs a chaos version (${running.chaosVersion ?? running.version}): deploy a release with "abra app deploy --force ${domain} <version>"`,
    );
  }
  const releases = ctx.repo.releases();
  const wanted = (r: RecipeRelease) =>
    mode === 'upgrade' ? compareVersions(r.version, current) > 0 : compareVersions(r.version, current) < 0;
  const candidates = releases.filter(wanted);
  if (requested !== undefined) {
    const r = releases.find((x) => x.tag === requested) ?? fatal(`${requested} is not a known version of ${recipe}`);
    if (!wanted(r)) {
      fatal(
        mode === 'upgrade'
          ? `${requested} is not an upgrade for ${running.version}? only versions greater than the deployed one can be upgraded to`
          : `${requested} is not a downgrade for ${running.version}? only versions lower than the deployed one can be rolled back to`,
      );
    }
    return { tag: r.tag, version: r.tag, chaos: false };
  }
  // -n picks without asking: the newest upgrade, or the release just below the running one
  const pick = candidates.at(-1);
  return pick && { tag: pick.tag, version: pick.tag, chaos: false };
}

// source: docs.coopcloud.tech commit 2813257e handbook.md ("How is the new deployment version determined?":
// latest release, the env file's pinned version, chaos = latest commit, unless [version], -C or -i)
function pickDeploy(ctx: AppContext, args: ParsedArgs, requested: string | undefined): Target {
  const { domain, recipe, pinned } = ctx.app;
  const chaos = flag(args, 'chaos');
  if (deployedApp(ctx) && !flag(args, 'force') && !chaos) fatal(`${domain} is already deployed`);
  const releases = ctx.repo.releases();
  const known = (v: string) => releases.find((r) => r.tag === v) ?? fatal(`${v} is not a known version of ${recipe}`);
  if (chaos || (releases.length === 0 && requested === undefined)) {
    return { version: ctx.repo.chaosVersion(), chaos: true };
  }
  const tag =
    requested !== undefined
      ? known(requested).tag
      : pinned && !flag(args, 'ignore-env-version')
        ? known(pinned).tag
        : releases.at(-1)!.tag;
  return { tag, version: tag, chaos: false };
}

function printReleaseNotes(ctx: AppContext, from: string, target: Target): void {
  const current = parseVersion(from);
  if (!target.tag || !current || !isOrdered(current)) return;
  const to = ctx.repo.release(target.tag)!.version;
  const notes = ctx.repo
    .releases()
    .filter((r) => compareVersions(r.version, current) > 0 && compareVersions(r.version, to) <= 0)
    .map((r) => [r.tag, ctx.repo.releaseNote(target.tag!, r.tag)] as const)
    .filter(([, note]) => note);
  if (!notes.length) return;
  out();
  out('RELEASE NOTES');
  for (const [version, note] of notes) {
    out();
    out(version);
    for (const line of note!.split('\n')) out(`  ${line}`);
  }
}

/** What the new `app` task's boot migrates: an Ecto app, up to the target release (never down). */
function bootMigrations(ctx: AppContext, target: Target): string[] {
  if (!target.tag || !MIGRATES_ON_BOOT.includes(ctx.app.recipe)) return [];
  if (ctx.app.vars.DISABLE_DB_AUTOMIGRATION === 'true') return [];
  const to = ctx.repo.release(target.tag)!.version;
  return ctx.repo
    .releases()
    .filter((r) => compareVersions(r.version, to) <= 0)
    .flatMap((r) => releaseMigrations(ctx.repo.releaseDate(r.tag)));
}

export async function releaseCommand(mode: ReleaseMode, args: ParsedArgs): Promise<void> {
  const [domain, requested] = args.positionals;
  assertCanPrompt(args);
  const ctx = await reachApp(domain);
  ctx.repo.requireExists();
  const before = deployedApp(ctx);
  const target = mode === 'deploy' ? pickDeploy(ctx, args, requested) : pickUpgradeOrRollback(ctx, mode, requested);
  if (!target) {
    info(mode === 'upgrade' ? 'no available upgrades' : 'no available downgrades');
    return;
  }
  if (!target.chaos) ctx.repo.requireClean();

  const services = ctx.repo.services(target.tag, composeVars(ctx));
  const app =
    services.find((s) => s.labels[`coop-cloud.${ctx.stack}.version`] !== undefined) ??
    services.find((s) => s.name === 'app');
  // the label, not the tag, is what the swarm will report as running; a chaos deploy keeps the version label of the
  // checkout and adds its commit as the chaos-version label
  // source: abra @06a57de cli/app/deploy.go:168 (SetChaosVersionLabel) and pkg/recipe/git.go:300 (ChaosVersion:
  // SmallSHA of HEAD, "+U" when the tree is dirty), as read in recipe-maintainers/cc-ci JOURNAL-dstamp.md
  // (git.autonomic.zone); reference/production.md (P: a chaos deploy keeps the release label as `version`)
  const labelled = app?.labels[`coop-cloud.${ctx.stack}.version`] ?? target.version;
  // source: coop-cloud/bonfire compose.yml ("coop-cloud.${STACK_NAME}.timeout=${TIMEOUT:-300}": how long abra
  // waits for the deploy to converge); 50 s without the label is the double's assumption (U)
  const timeout = Number(app?.labels[`coop-cloud.${ctx.stack}.timeout`]) || 50;

  const title = { upgrade: 'UPGRADE OVERVIEW', rollback: 'DOWNGRADE OVERVIEW', deploy: 'DEPLOY OVERVIEW' }[mode];
  out(
    overview(title, [
      ['SERVER', ctx.app.server],
      ['DOMAIN', ctx.app.domain],
      ['RECIPE', ctx.app.recipe],
      ['CURRENT VERSION', before?.version ?? 'N/A'],
      ['NEW VERSION', target.version],
      ['CHAOS', String(target.chaos)],
    ]),
  );
  if (mode === 'upgrade' && before) printReleaseNotes(ctx, before.version, target);
  await confirm(args, 'continue with deployment?');

  if (target.tag) {
    ctx.repo.checkout(target.tag);
    info(`checked out ${target.tag} for ${ctx.app.recipe}`);
    pinVersion(ctx.app, target.tag);
  }
  const stalls = faultOn(ctx, 'converge-timeout');
  // production's failed upgrade: the stack is deployed at the new version, then its new `app` task boots, migrates
  // the database and fails its health check; with `failure_action: rollback` swarm then rolls it back by itself
  const rollsBack = mode === 'upgrade' && faultOn(ctx, 'swarm-rolls-back');
  // a new release, by upgrade or by `deploy -f` (from a chaos deploy); a rollback or a chaos deploy brings none
  const newRelease = mode !== 'rollback' && !target.chaos && before?.version !== labelled;
  const taskFails = (newRelease && faultOn(ctx, 'abra-upgrade-fails')) || rollsBack;
  const migrations = bootMigrations(ctx, target);
  const now = new Date();
  updateSwarm(ctx.server.swarm, (state) => {
    const prev = state.apps[ctx.app.domain];
    const delay = state.convergeDelaySeconds ?? DEFAULT_CONVERGE_DELAY_SECONDS;
    const lingering = prev ? [...(prev.lingering ?? [])] : [];
    // stop-first: the new task starts once the tasks it replaces are gone (tasks.ts)
    const freed = prev ? replaceLingering(prev, now.getTime()) : undefined;
    const image = services.find((s) => s.name === 'app')?.image ?? '';
    const failing = taskFails ? failingTask(state, ctx.stack, labelled, image, migrations, now.getTime()) : undefined;
    if (failing && rollsBack) replaceTask(failing, now.getTime());
    const settlesAt = stalls ? new Date(now.getTime() + delay * 1000).toISOString() : (failing?.goneAt ?? freed);
    state.apps[ctx.app.domain] = {
      stack: ctx.stack,
      recipe: ctx.app.recipe,
      // source: moby/swarmkit manager/orchestrator/update/updater.go ("update rolled back due to failure or early
      // termination of task %s"); https://docs.docker.com/reference/cli/docker/service/rollback/ (labels included)
      version: rollsBack && prev ? prev.version : labelled,
      chaos: rollsBack && prev ? prev.chaos : target.chaos,
      chaosVersion: rollsBack && prev ? prev.chaosVersion : target.chaos ? target.version : undefined,
      status: 'deployed',
      healthy: (!stalls && !taskFails && !freed) || (rollsBack && !failing?.goneAt),
      convergesAt: (!taskFails || rollsBack) && settlesAt ? settlesAt : undefined,
      deployedAt: now.toISOString(),
      snapshots: prev?.snapshots ?? [],
      lastRestore: prev?.lastRestore,
      // `docker stack deploy` sets every service back to the replicas its compose file asks for
      services:
        rollsBack && prev?.services ? prev.services : services.map((s) => ({ name: s.name, image: s.image ?? '' })),
      db: prev?.db,
      lingering: [...lingering, ...(failing ? [failing] : [])],
    };
    if (!state.apps[ctx.app.domain].lingering?.length) delete state.apps[ctx.app.domain].lingering;
  });
  // a healthy boot has migrated before it answers; a failing task migrates later, on its own (tasks.ts)
  if (!taskFails && migrations.length) {
    const db = deployedApp(ctx)?.db;
    if (db) migrate(db, migrations);
  }
  if (flag(args, 'no-converge-checks')) {
    info('skipping converge checks');
  } else {
    info(`waiting for ${ctx.stack} to converge (timeout: ${timeout}s)`);
    // source: moby/swarmkit manager/orchestrator/update/updater.go ("update paused due to failure or early
    // termination of task %s", failure_action pause); a recipe with failure_action rollback would instead have
    // swarm roll the service back, labels included (https://docs.docker.com/reference/cli/docker/service/rollback/)
    if (rollsBack)
      fatal(
        `${ctx.app.domain}: upgrade failed: ${ctx.stack}_app: rollback: update rolled back due to failure or early termination of task`,
      );
    if (taskFails)
      fatal(
        `${ctx.app.domain}: upgrade failed: ${ctx.stack}_app: update paused due to failure or early termination of task`,
      );
    // source: operators' notes (reference/abra.md: converge checks give up before slow apps settle, "FATA deploy
    // failed", and Swarm converges later)
    if (stalls)
      fatal(
        `${ctx.app.domain}: deploy failed: timed out waiting for ${ctx.stack} to converge after ${timeout}s (services may still be updating)`,
      );
    info(`${ctx.stack} converged`);
  }
  const verb = { upgrade: 'upgraded', rollback: 'rolled back', deploy: 'deployed' }[mode];
  info(`${ctx.app.domain} ${verb} to ${readSwarm(ctx.server.swarm).apps[ctx.app.domain].version}`);
}
