import { flag, flagValue, type ParsedArgs } from '../args.js';
import { fatal } from '../fatal.js';
import { abraDir, appsOfServer, listServers, serverOf, type AppRef } from '../home.js';
import { sleep, out } from '../log.js';
import { connectServer } from '../reach.js';
import { RecipeRepo } from '../recipeRepo.js';
import { hasFault, readSwarm, stackName, type SwarmState } from '../swarm.js';
import { boxTable } from '../table.js';
import { compareVersions, isOrdered, parseVersion } from '../versions.js';
import { SLOW_FAULT_MS } from '../context.js';
import { advanceSwarm } from '../tasks.js';

// source: operators' notes (reference/production.md, P; reference/abra.md shape, key spellings U): per server
// `{apps: [{server, recipe, appName, domain, status, chaos, chaosVersion, version, upgrade}], ...counts}`, all
// values strings; a chaos deploy has chaos "true" (P). `upgrade` from the local tags here; abra may use the
// catalogue (U): `coopctl doctor` compares them on hypha.
/** One app as `abra app ls -S -m` prints it: every value a string. */
type AppRow = Record<string, string>;

function statusRow(dir: string, app: AppRef, swarm: SwarmState): AppRow {
  const running = swarm.apps[app.domain];
  const deployed = running?.status === 'deployed';
  const current = deployed ? parseVersion(running.version) : undefined;
  let upgrade = 'unknown';
  if (current && isOrdered(current) && !running.chaos) {
    const repo = new RecipeRepo(dir, app.recipe);
    const newer = repo.exists ? repo.releases().filter((r) => compareVersions(r.version, current) > 0) : undefined;
    if (newer) upgrade = newer.length ? newer.map((r) => r.tag).join('\n') : 'latest';
  }
  return {
    // source: operators' notes (reference/production.md, U): an undeployed app is "probably status: unknown";
    // the harsher reading (not "undeployed") until `coopctl doctor` records what abra 0.13 prints on hypha
    status: deployed ? 'deployed' : 'unknown',
    chaos: String(Boolean(deployed && running.chaos)),
    // source: reference/production.md (P: a chaos deploy keeps the release label of the checkout as `version`);
    // abra @06a57de cli/app/deploy.go:168 labels the commit as chaos-version (see commands/release.ts)
    chaosVersion: deployed && running.chaos ? (running.chaosVersion ?? 'unknown') : 'unknown',
    autoUpdate: 'false',
    version: deployed ? running.version : 'unknown',
    upgrade,
  };
}

export async function appLsCommand(args: ParsedArgs): Promise<void> {
  const dir = abraDir();
  const only = flagValue(args, 'server');
  const recipe = flagValue(args, 'recipe');
  const withStatus = flag(args, 'status');
  const servers = only !== undefined ? [only] : listServers(dir);
  if (only !== undefined && !listServers(dir).includes(only)) fatal(`server ${only} does not exist`);

  const doc: Record<string, Record<string, unknown>> = {};
  const tables: string[] = [];
  for (const server of servers) {
    const apps = appsOfServer(dir, server).filter((a) => recipe === undefined || a.recipe === recipe);
    let swarm: SwarmState | undefined;
    if (withStatus) {
      const cfg = serverOf(dir, server);
      if (apps.some((a) => hasFault(readSwarm(cfg.swarm), a.domain, 'slow'))) await sleep(SLOW_FAULT_MS);
      await connectServer(server, cfg);
      advanceSwarm(cfg.swarm);
      swarm = readSwarm(cfg.swarm);
    }
    const rows: AppRow[] = apps.map((a) => ({
      server,
      recipe: a.recipe,
      appName: stackName(a.domain),
      domain: a.domain,
      ...(swarm ? statusRow(dir, a, swarm) : {}),
    }));
    const summary: Record<string, unknown> = { apps: rows, appCount: rows.length };
    if (swarm) {
      summary.versionCount = rows.filter((r) => r.version !== 'unknown').length;
      summary.unversionedCount = rows.filter((r) => r.status === 'deployed' && r.version === 'unknown').length;
      summary.latestCount = rows.filter((r) => r.upgrade === 'latest').length;
      summary.upgradeCount = rows.filter((r) => r.upgrade !== 'latest' && r.upgrade !== 'unknown').length;
    }
    doc[server] = summary;
    const headers = swarm
      ? ['SERVER', 'RECIPE', 'DOMAIN', 'STATUS', 'CHAOS', 'VERSION', 'UPGRADE', 'AUTOUPDATE']
      : ['SERVER', 'RECIPE', 'DOMAIN'];
    const keys = swarm
      ? ['server', 'recipe', 'domain', 'status', 'chaos', 'version', 'upgrade', 'autoUpdate']
      : ['server', 'recipe', 'domain'];
    tables.push(
      boxTable(
        headers,
        rows.map((r) => keys.map((k) => r[k])),
      ),
    );
  }
  if (flag(args, 'machine')) out(JSON.stringify(doc));
  else out(tables.join('\n\n'));
}
