import { randomBytes, randomInt } from 'node:crypto';
import path from 'node:path';
import { emptyDatabase } from '../appDb.js';
import { flagValue, type ParsedArgs } from '../args.js';
import { composeVars, faultOn, reachApp, requireDeployed, type AppContext } from '../context.js';
import { fatal } from '../fatal.js';
import { scaleBytes } from '../../../../src/kernel/validate.js';
import { info, out } from '../log.js';
import { assertCanPrompt, confirm } from '../prompt.js';
import type { ComposeService } from '../recipeRepo.js';
import { updateSwarm, type SnapshotFile, type SwarmApp, type SwarmSnapshot } from '../swarm.js';

// source: restic/restic internal/ui/format.go (FormatBytes: "%d B", "%.3f MiB"); the summary lines ("Files:",
// "Added to the repository:", "processed N files", "snapshot ID saved") as restic's docs show `restic backup`
// output (https://restic.readthedocs.io/en/stable/040_backup.html); that backup-bot-two passes them on is U
/** restic's size format: "0 B", "512 B", "1.234 MiB". */
export function resticSize(bytes: number): string {
  const { value, unit } = scaleBytes(bytes);
  return unit === 'B' ? `${value} B` : `${value.toFixed(3)} ${unit}`;
}

// source: coop-cloud/bonfire compose.postgres.yml (labels backupbot.backup, backupbot.backup.pre-hook,
// backupbot.backup.volumes.<vol>.path); "no backup configs discovered" for a recipe without labels: operators'
// notes (reference/production.md, C, the wiki in 2023)
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

/**
 * abra runs backup-bot-two's commands in its container with a terminal (docker exec -t), and docker's client
 * refuses a terminal exec when its own stdin is none. source: docker/cli cli/streams/in.go:37-42 (CheckTty,
 * "the input device is not a TTY"); that abra's backup commands need one: the operators' notes
 * (reference/production.md, P: a CI that drives abra 0.13 wraps them in `script`). Behind the
 * `backup-needs-terminal` fault until coopctl runs them with a terminal (see the i18 report).
 */
function assertTerminal(ctx: AppContext): void {
  if (faultOn(ctx, 'backup-needs-terminal') && !process.stdin.isTTY) fatal('the input device is not a TTY');
}

async function create(args: ParsedArgs): Promise<void> {
  const ctx = await reachApp(args.positionals[0]);
  const running = requireDeployed(ctx);
  assertTerminal(ctx);
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
  // source: operators' notes (reference/production.md, P): a db container restarting mid-dump gives an empty
  // pre-hook dump that "succeeds"; reference/abra.md (backups racing a redeploy)
  // the trap this fault stands for: the pre-hook dumped nothing, yet restic and abra report success
  const empty = faultOn(ctx, 'backup-empty-dump');
  const paths = targets.flatMap((t) => t.paths);
  const files = snapshotFiles(paths, empty);
  const size = files.reduce((sum, f) => sum + f.size, 0);
  const snapshot: SwarmSnapshot = {
    id: randomBytes(4).toString('hex'),
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    paths,
    size,
    empty,
    version: running.version,
    files,
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

/**
 * What restic stores for the backed-up paths: each ancestor directory, a volume's directory as it is, a named
 * dump file with its size (0 when the pre-hook dumped nothing). Dumps are written by the db container's user.
 */
function snapshotFiles(paths: readonly string[], empty: boolean): SnapshotFile[] {
  const dirs = new Set<string>();
  for (const p of paths) for (let d = path.posix.dirname(p); d !== '/'; d = path.posix.dirname(d)) dirs.add(d);
  const entries: SnapshotFile[] = [...dirs].map((d) => ({ path: d, type: 'dir', size: 0, uid: 0, gid: 0 }));
  for (const p of paths) {
    if (dirs.has(p)) continue;
    const isDir = p.endsWith('/_data');
    entries.push(
      isDir
        ? { path: p, type: 'dir', size: 0, uid: 0, gid: 0 }
        : { path: p, type: 'file', size: empty ? 0 : randomInt(1024 ** 2, 8 * 1024 ** 2), uid: 999, gid: 999 },
    );
  }
  return entries.sort((a, b) => a.path.localeCompare(b.path));
}

// source: restic/restic cmd/restic/cmd_ls.go (`ls -l`: mode, uid, gid, size, mtime, path; header "snapshot ID
// of [paths] at TIME by USER@HOST"); abra app backup ls shows it (U: production.md says paths without sizes,
// the harsher case the driver must also handle)
/** restic's `ls -l`: a header naming the snapshot, then mode, uid, gid, size, mtime and path per entry. */
export function resticLsLong(snapshot: SwarmSnapshot, host: string): string {
  const time = snapshot.time.replace('T', ' ').replace(/(\.\d+)?Z$/, '');
  const files =
    snapshot.files ?? snapshot.paths.map((p) => ({ path: p, type: 'file', size: snapshot.size, uid: 0, gid: 0 }));
  const lines = files.map((f) => {
    const mode = f.type === 'dir' ? 'drwxr-xr-x' : '-rw-r--r--';
    return `${mode} ${String(f.uid).padStart(5)} ${String(f.gid).padStart(5)} ${String(f.size).padStart(6)} ${time} ${f.path}`;
  });
  return [
    `snapshot ${snapshot.id} of [${snapshot.paths.join(' ')}] at ${time} +0000 UTC by root@${host}:`,
    ...lines,
  ].join('\n');
}

// source: restic/restic cmd/restic/cmd_snapshots.go (columns ID, Time, Host, Tags, Paths, and Size since 0.17;
// "N snapshots" footer); backup-bot-two lists snapshots through restic (reference/production.md, U)
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

function findSnapshot(ctx: AppContext, running: SwarmApp, wanted: string | undefined): SwarmSnapshot {
  return wanted !== undefined
    ? (running.snapshots.find((s) => s.id === wanted || s.id.startsWith(wanted)) ??
        fatal(`${ctx.app.domain}: snapshot ${wanted} not found`))
    : (running.snapshots.at(-1) ?? fatal(`${ctx.app.domain}: no snapshots found`));
}

/** `abra app backup ls DOMAIN [-s SNAPSHOT]`: restic's listing of one snapshot (the latest by default). */
async function list(args: ParsedArgs): Promise<void> {
  const ctx = await reachApp(args.positionals[0]);
  const running = requireDeployed(ctx);
  assertTerminal(ctx);
  out(resticLsLong(findSnapshot(ctx, running, flagValue(args, 'snapshot')), ctx.app.server));
}

async function snapshots(args: ParsedArgs): Promise<void> {
  const ctx = await reachApp(args.positionals[0]);
  const running = requireDeployed(ctx);
  assertTerminal(ctx);
  out(snapshotTable(ctx.app.server, running.snapshots));
}

export async function restoreCommand(args: ParsedArgs): Promise<void> {
  assertCanPrompt(args);
  const ctx = await reachApp(args.positionals[0]);
  const running = requireDeployed(ctx);
  assertTerminal(ctx);
  const chosen = findSnapshot(ctx, running, flagValue(args, 'snapshot'));
  await confirm(args, `restore snapshot ${chosen.id} of ${ctx.app.domain}?`);
  if (faultOn(ctx, 'backup-container-not-running')) {
    fatal(`${ctx.app.domain}: restore failed: post-hook: container ${ctx.stack}_db.1 is not running`);
  }
  info(`restoring snapshot ${chosen.id} (${chosen.time}) of ${ctx.app.domain}`);
  for (const p of chosen.paths) out(`restoring <Snapshot ${chosen.id}> to ${p}`);
  // the post-hook drops the database and loads the dump into a new one: an empty dump leaves it empty
  if (chosen.empty && running.db) emptyDatabase(running.db);
  updateSwarm(ctx.server.swarm, (state) => {
    const app = state.apps[ctx.app.domain];
    if (app) app.lastRestore = { snapshot: chosen.id, at: new Date().toISOString(), empty: chosen.empty };
  });
  info(`restored snapshot ${chosen.id} of ${ctx.app.domain}`);
}

export async function backupCommand(sub: string | undefined, args: ParsedArgs): Promise<void> {
  if (sub === 'create' || sub === 'c') return create(args);
  if (sub === 'snapshots' || sub === 's') return snapshots(args);
  if (sub === 'ls' || sub === 'list') return list(args);
  fatal(`unknown command "${sub ?? ''}" for "abra app backup" (create, ls, snapshots)`);
}
