import { randomBytes, randomInt } from 'node:crypto';
import { flagValue, type ParsedArgs } from '../args.js';
import { composeVars, faultOn, reachApp, requireDeployed, type AppContext } from '../context.js';
import { fatal } from '../fatal.js';
import { scaleBytes } from '../../../../src/kernel/validate.js';
import { info, out } from '../log.js';
import { assertCanPrompt, confirm } from '../prompt.js';
import type { ComposeService } from '../recipeRepo.js';
import { updateSwarm, type SwarmApp, type SwarmSnapshot } from '../swarm.js';

/** restic's size format: "0 B", "512 B", "1.234 MiB". */
export function resticSize(bytes: number): string {
  const { value, unit } = scaleBytes(bytes);
  return unit === 'B' ? `${value} B` : `${value.toFixed(3)} ${unit}`;
}

/** What backup-bot-two would back up: volumes of services labelled `backupbot.backup=true` (or the one file a path label names). */
function backupTargets(
  ctx: AppContext,
  running: SwarmApp,
): Array<{ service: ComposeService; paths: string[]; hook?: string }> {
  const tag = running.chaos ? undefined : running.version;
  return ctx.repo
    .services(tag, composeVars(ctx))
    .filter((s) => s.labels['backupbot.backup'] === 'true')
    .map((service) => ({
      service,
      hook: service.labels['backupbot.backup.pre-hook'],
      paths: service.volumes.map((vol) => {
        const base = `/var/lib/docker/volumes/${ctx.stack}_${vol}/_data`;
        const file = service.labels[`backupbot.backup.volumes.${vol}.path`];
        return file ? `${base}/${file}` : base;
      }),
    }));
}

async function create(args: ParsedArgs): Promise<void> {
  const ctx = await reachApp(args.positionals[0]);
  const running = requireDeployed(ctx);
  ctx.repo.requireExists();
  const targets = backupTargets(ctx, running);
  if (!targets.length) fatal(`${ctx.app.domain}: no backup configs discovered`);
  for (const t of targets) {
    if (!t.hook) continue;
    info(`running pre-hook "${t.hook}" in ${ctx.stack}_${t.service.name}`);
    if (faultOn(ctx, 'backup-container-not-running')) {
      fatal(`${ctx.app.domain}: backup failed: pre-hook: container ${ctx.stack}_${t.service.name}.1 is not running`);
    }
  }
  // the trap this fault stands for: the pre-hook dumped nothing, yet restic and abra report success
  const empty = faultOn(ctx, 'backup-empty-dump');
  const paths = targets.flatMap((t) => t.paths);
  const size = empty ? 0 : randomInt(1024 ** 2, 8 * 1024 ** 2);
  const snapshot: SwarmSnapshot = {
    id: randomBytes(4).toString('hex'),
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    paths,
    size,
    empty,
    version: running.version,
  };
  updateSwarm(ctx.server.swarm, (state) => {
    state.apps[ctx.app.domain]?.snapshots.push(snapshot);
  });
  info(`backing up ${paths.length} path(s) of ${ctx.app.domain} with restic`);
  out(`Files:           ${paths.length} new,     0 changed,     0 unmodified`);
  out(`Dirs:            ${paths.length} new,     0 changed,     0 unmodified`);
  out(`Added to the repository: ${resticSize(size)} (${resticSize(Math.round(size * 0.62))} stored)`);
  out('');
  out(`processed ${paths.length} files, ${resticSize(size)} in 0:01`);
  out(`snapshot ${snapshot.id} saved`);
  info(`backup of ${ctx.app.domain} done`);
}

/** restic's `snapshots` table (restic ≥ 0.17 adds the Size column), times in UTC. */
export function snapshotTable(host: string, snapshots: readonly SwarmSnapshot[]): string {
  const rows = snapshots.map((s) => ({
    id: s.id,
    time: s.time.replace('T', ' ').replace(/(\.\d+)?Z$/, ''),
    host,
    tags: '',
    paths: s.paths.length ? s.paths : [''],
    size: resticSize(s.size),
  }));
  const w = {
    id: 8,
    time: 19,
    host: Math.max(4, host.length),
    tags: 4,
    paths: Math.max(5, ...rows.flatMap((r) => r.paths.map((p) => p.length))),
  };
  const line = (id: string, time: string, h: string, tags: string, p: string, size: string) =>
    `${id.padEnd(w.id)}  ${time.padEnd(w.time)}  ${h.padEnd(w.host)}  ${tags.padEnd(w.tags)}  ${p.padEnd(w.paths)}  ${size}`.trimEnd();
  const header = line('ID', 'Time', 'Host', 'Tags', 'Paths', 'Size');
  const rule = '-'.repeat(header.length);
  const body = rows.flatMap((r) => [
    line(r.id, r.time, r.host, r.tags, r.paths[0], r.size),
    ...r.paths.slice(1).map((p) => line('', '', '', '', p, '')),
  ]);
  return [header, rule, ...body, rule, `${snapshots.length} snapshots`].join('\n');
}

async function snapshots(args: ParsedArgs): Promise<void> {
  const ctx = await reachApp(args.positionals[0]);
  const running = requireDeployed(ctx);
  out(snapshotTable(ctx.app.server, running.snapshots));
}

export async function restoreCommand(args: ParsedArgs): Promise<void> {
  assertCanPrompt(args);
  const ctx = await reachApp(args.positionals[0]);
  const running = requireDeployed(ctx);
  const wanted = flagValue(args, 'snapshot');
  const chosen =
    wanted !== undefined
      ? (running.snapshots.find((s) => s.id === wanted || s.id.startsWith(wanted)) ??
        fatal(`${ctx.app.domain}: snapshot ${wanted} not found`))
      : (running.snapshots.at(-1) ?? fatal(`${ctx.app.domain}: no snapshots found`));
  await confirm(args, `restore snapshot ${chosen.id} of ${ctx.app.domain}?`);
  if (faultOn(ctx, 'backup-container-not-running')) {
    fatal(`${ctx.app.domain}: restore failed: post-hook: container ${ctx.stack}_db.1 is not running`);
  }
  info(`restoring snapshot ${chosen.id} (${chosen.time}) of ${ctx.app.domain}`);
  for (const p of chosen.paths) out(`restoring <Snapshot ${chosen.id}> to ${p}`);
  updateSwarm(ctx.server.swarm, (state) => {
    const app = state.apps[ctx.app.domain];
    if (app) app.lastRestore = { snapshot: chosen.id, at: new Date().toISOString(), empty: chosen.empty };
  });
  info(`restored snapshot ${chosen.id} of ${ctx.app.domain}`);
}

export async function backupCommand(sub: string | undefined, args: ParsedArgs): Promise<void> {
  if (sub === 'create' || sub === 'c') return create(args);
  if (sub === 'snapshots' || sub === 's') return snapshots(args);
  fatal(`unknown command "${sub ?? ''}" for "abra app backup" (create, snapshots)`);
}
