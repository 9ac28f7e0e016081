import { spawnSync } from 'node:child_process';
import {
  accessSync,
  appendFileSync,
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import path from 'node:path';
import {
  ensureSystemPath,
  findSandboxRoot,
  hostPath,
  readJson,
  standinPaths,
  writeJsonAtomic,
} from './mastodon/config.js';
import { parseExec, parseUnit, unitEnvironment, unitValue, unitValues, type UnitFile } from './mastodon/units.js';

/**
 * `systemctl` on a sandbox host. Unit files live in R/etc/systemd/system;
 * runtime state (what is active, the unit text loaded at the last
 * daemon-reload) in R/run, which a "reboot" clears. Exec lines run to
 * completion (Type=oneshot), their output going to the unit's journal file.
 */
// source: systemctl(1) (https://www.freedesktop.org/software/systemd/man/systemctl.html): ActiveState values;
// units run Type=oneshot (systemd.service(5)), as the playbook's mastodon.service (ExecStart=docker compose up -d)
type ActiveState = 'active' | 'inactive' | 'failed';

interface UnitRuntime {
  active: ActiveState;
  since: string;
  /** The unit text systemd has loaded; a later edit needs daemon-reload. */
  loaded: string;
}

interface Ctx {
  root: string;
  unitDir: string;
  quiet: boolean;
  runtime: Record<string, UnitRuntime>;
}

class UnitError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

function unitName(name: string): string {
  return /\.(service|timer|target|socket|mount|path)$/.test(name) ? name : `${name}.service`;
}

function unitFile(ctx: Ctx, unit: string): string {
  return path.join(ctx.unitDir, unit);
}

function saveRuntime(ctx: Ctx): void {
  writeJsonAtomic(standinPaths(ctx.root).systemdRuntime, ctx.runtime);
}

/** The unit as systemd currently has it loaded (loading it now if it never was). */
function loadUnit(ctx: Ctx, unit: string, verb: string): { unit: UnitFile; rt: UnitRuntime } {
  const file = unitFile(ctx, unit);
  const rt = ctx.runtime[unit];
  if (!existsSync(file)) {
    if (rt) return { unit: parseUnit(rt.loaded), rt };
    // source: systemd src/systemctl/systemctl-util.c (translate_bus_error_to_exit_status: NoSuchUnit →
    // EXIT_NOTINSTALLED = 5); message as systemctl prints it (recorded real output)
    throw new UnitError(`Failed to ${verb} ${unit}: Unit ${unit} not found.`, 5);
  }
  const text = readFileSync(file, 'utf8');
  if (!rt) {
    ctx.runtime[unit] = { active: 'inactive', since: new Date().toISOString(), loaded: text };
    return { unit: parseUnit(text), rt: ctx.runtime[unit] };
  }
  if (rt.loaded !== text) {
    err(
      `Warning: The unit file, source configuration file or drop-ins of ${unit} changed on disk. Run 'systemctl daemon-reload' to reload units.`,
    );
  }
  return { unit: parseUnit(rt.loaded), rt };
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

function journal(ctx: Ctx, unit: string, line: string): string {
  const dir = path.join(standinPaths(ctx.root).log, 'journal');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${unit}.log`);
  appendFileSync(file, `${new Date().toISOString()} ${line}\n`);
  return file;
}

/** Runs the unit's Exec lines of one kind; false when one failed (and was not `-`-prefixed). */
function runExec(ctx: Ctx, unit: string, u: UnitFile, key: string): boolean {
  const cwd = unitValue(u, 'Service', 'WorkingDirectory')?.replace(/^-/, '');
  const env = { ...process.env, ...unitEnvironment(u) };
  for (const line of unitValues(u, 'Service', key)) {
    const exec = parseExec(line);
    // Paths in the unit are the host's real ones (/usr/bin/docker): look the command up by name, stand-ins first.
    const bin = findOnPath(path.basename(exec.argv[0] ?? ''));
    const log = journal(ctx, unit, `${key}: ${exec.argv.join(' ')}`);
    if (!bin || (cwd && !existsSync(cwd))) {
      journal(
        ctx,
        unit,
        bin
          ? `Changing to the requested working directory failed: No such file or directory`
          : `Failed to locate executable ${exec.argv[0]}: No such file or directory`,
      );
      if (exec.ignoreFailure) continue;
      return false;
    }
    const fd = openSync(log, 'a');
    const r = spawnSync(bin, exec.argv.slice(1), { cwd, env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    journal(ctx, unit, `${key} exited with status ${r.status ?? r.signal}`);
    if (r.status !== 0 && !exec.ignoreFailure) return false;
  }
  return true;
}

function setActive(rt: UnitRuntime, active: ActiveState): void {
  if (rt.active !== active) Object.assign(rt, { active, since: new Date().toISOString() });
}

// source: recorded real output of a failing `systemctl start` ("Job for X failed because the control process
// exited with error code. See ..."), exit 1
function failJob(unit: string): never {
  throw new UnitError(
    `Job for ${unit} failed because the control process exited with error code.\nSee "systemctl status ${unit}" and "journalctl -xeu ${unit}" for details.`,
    1,
  );
}

function start(ctx: Ctx, unit: string): void {
  const { unit: u, rt } = loadUnit(ctx, unit, 'start');
  if (rt.active === 'active') return;
  const ok =
    runExec(ctx, unit, u, 'ExecStartPre') &&
    runExec(ctx, unit, u, 'ExecStart') &&
    runExec(ctx, unit, u, 'ExecStartPost');
  setActive(rt, ok ? 'active' : 'failed');
  saveRuntime(ctx);
  if (!ok) failJob(unit);
}

function stop(ctx: Ctx, unit: string): void {
  const { unit: u, rt } = loadUnit(ctx, unit, 'stop');
  if (rt.active === 'active') runExec(ctx, unit, u, 'ExecStop');
  setActive(rt, 'inactive');
  saveRuntime(ctx);
}

function reload(ctx: Ctx, unit: string): void {
  const { unit: u, rt } = loadUnit(ctx, unit, 'reload');
  if (rt.active !== 'active') throw new UnitError(`Failed to reload ${unit}: Unit ${unit} is not active.`, 1);
  if (!unitValues(u, 'Service', 'ExecReload').length)
    throw new UnitError(`Failed to reload ${unit}: Job type reload is not applicable for unit ${unit}.`, 1);
  if (!runExec(ctx, unit, u, 'ExecReload')) failJob(unit);
}

function wantsLinks(ctx: Ctx, unit: string): string[] {
  const u = parseUnit(readFileSync(unitFile(ctx, unit), 'utf8'));
  return [...unitValues(u, 'Install', 'WantedBy'), ...unitValues(u, 'Install', 'RequiredBy')]
    .flatMap((v) => v.split(/\s+/))
    .map((target) => path.join(ctx.unitDir, `${target}.wants`, unit));
}

function isEnabled(ctx: Ctx, unit: string): boolean {
  if (!existsSync(ctx.unitDir)) return false;
  return readdirSync(ctx.unitDir)
    .filter((d) => d.endsWith('.wants') || d.endsWith('.requires'))
    .some((d) => {
      try {
        return lstatSync(path.join(ctx.unitDir, d, unit)).isSymbolicLink();
      } catch {
        return false;
      }
    });
}

function enable(ctx: Ctx, unit: string): void {
  if (!existsSync(unitFile(ctx, unit)))
    throw new UnitError(`Failed to enable unit: Unit file ${unit} does not exist.`, 1);
  const links = wantsLinks(ctx, unit);
  if (!links.length) {
    err(
      `The unit files have no installation config (WantedBy=, RequiredBy=, Also=,\nAlias= settings in the [Install] section, and DefaultInstance= for template\nunits). This means they are not meant to be enabled or disabled using systemctl.`,
    );
    return;
  }
  for (const link of links) {
    if (existsSync(link)) continue;
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(path.join('..', unit), link);
    // source: systemd src/shared/install.c (install_changes_dump: "Created symlink %s → %s.") on stderr
    err(`Created symlink ${hostPath(ctx.root, link)} → ${hostPath(ctx.root, unitFile(ctx, unit))}.`);
  }
}

function disable(ctx: Ctx, unit: string): void {
  for (const d of existsSync(ctx.unitDir) ? readdirSync(ctx.unitDir) : []) {
    const link = path.join(ctx.unitDir, d, unit);
    if ((d.endsWith('.wants') || d.endsWith('.requires')) && existsSync(path.dirname(link))) {
      try {
        if (!lstatSync(link).isSymbolicLink()) continue;
      } catch {
        continue;
      }
      rmSync(link);
      err(`Removed "${hostPath(ctx.root, link)}".`);
    }
  }
}

function describe(ctx: Ctx, unit: string) {
  const exists = existsSync(unitFile(ctx, unit));
  const rt = ctx.runtime[unit];
  const u = exists
    ? parseUnit(rt?.loaded ?? readFileSync(unitFile(ctx, unit), 'utf8'))
    : rt
      ? parseUnit(rt.loaded)
      : undefined;
  return {
    exists,
    active: rt?.active ?? 'inactive',
    since: rt?.since,
    description: (u && unitValue(u, 'Unit', 'Description')) ?? unit,
    remainAfterExit: u ? unitValue(u, 'Service', 'RemainAfterExit') === 'yes' : false,
    enabled: exists && isEnabled(ctx, unit),
  };
}

// source: systemd src/systemctl/systemctl-util.h (LSB status codes: 0 running, 3 not running, 4 unknown unit)
function status(ctx: Ctx, unit: string): number {
  const d = describe(ctx, unit);
  if (!d.exists && !ctx.runtime[unit]) {
    err(`Unit ${unit} could not be found.`);
    return 4;
  }
  const sub =
    d.active === 'active'
      ? d.remainAfterExit
        ? 'exited'
        : 'running'
      : d.active === 'failed'
        ? 'Result: exit-code'
        : 'dead';
  out(`${d.active === 'active' ? '●' : d.active === 'failed' ? '×' : '○'} ${unit} - ${d.description}`);
  out(
    `     Loaded: loaded (${hostPath(ctx.root, unitFile(ctx, unit))}; ${d.enabled ? 'enabled' : 'disabled'}; preset: enabled)`,
  );
  out(`     Active: ${d.active} (${sub})${d.since ? ` since ${new Date(d.since).toUTCString()}` : ''}`);
  return d.active === 'active' ? 0 : 3;
}

function show(ctx: Ctx, unit: string, props: string[], valueOnly: boolean): void {
  const d = describe(ctx, unit);
  const all: Record<string, string> = {
    Id: unit,
    Description: d.description,
    LoadState: d.exists ? 'loaded' : 'not-found',
    ActiveState: d.active,
    SubState:
      d.active === 'active' ? (d.remainAfterExit ? 'exited' : 'running') : d.active === 'failed' ? 'failed' : 'dead',
    UnitFileState: d.exists ? (d.enabled ? 'enabled' : 'disabled') : '',
    FragmentPath: d.exists ? hostPath(ctx.root, unitFile(ctx, unit)) : '',
    ActiveEnterTimestamp: d.active === 'active' && d.since ? new Date(d.since).toUTCString() : '',
  };
  for (const [k, v] of Object.entries(all)) if (!props.length || props.includes(k)) out(valueOnly ? v : `${k}=${v}`);
}

/** Verbs that change what systemd runs: root's (or the unit dir's owner's, in an unprivileged sandbox). */
const MANAGES = new Set(['daemon-reload', 'start', 'stop', 'restart', 'reload', 'try-restart', 'enable', 'disable']);

function mayManage(ctx: Ctx): boolean {
  try {
    accessSync(ctx.unitDir, constants.W_OK);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function main(argv: string[]): number {
  const flags = argv.filter((a) => a.startsWith('-'));
  const words = argv.filter((a) => !a.startsWith('-'));
  const props = flags.flatMap((f) => (f.startsWith('--property=') ? f.slice(11).split(',') : []));
  const pIndex = argv.indexOf('-p');
  if (pIndex >= 0 && argv[pIndex + 1]) {
    props.push(...argv[pIndex + 1].split(','));
    words.splice(words.indexOf(argv[pIndex + 1]), 1);
  }
  const [verb, ...names] = words;
  const root = findSandboxRoot([process.cwd()]);
  const ctx: Ctx = {
    root,
    unitDir: path.join(root, 'etc', 'systemd', 'system'),
    quiet: flags.includes('-q') || flags.includes('--quiet'),
    runtime: readJson<Record<string, UnitRuntime>>(standinPaths(root).systemdRuntime, {}),
  };
  const units = names.map(unitName);
  const needUnits = () => {
    if (!units.length) throw new UnitError(`Too few arguments.`, 1);
  };
  if (MANAGES.has(verb) && !mayManage(ctx)) {
    // What systemd answers an ordinary user (no polkit agent on a server): the unit is left alone.
    // source: systemd src/systemctl/systemctl-util.c (AccessDenied → EXIT_NOPERMISSION = 4). An ordinary user
    // without a polkit agent may see "Interactive authentication required" instead (U): either way it fails
    if (verb === 'daemon-reload') throw new UnitError('Failed to reload daemon: Access denied', 1);
    throw new UnitError(`Failed to ${verb} ${units.join(' ') || 'units'}: Access denied`, 4);
  }
  switch (verb) {
    case 'daemon-reload':
      for (const [unit, rt] of Object.entries(ctx.runtime)) {
        if (existsSync(unitFile(ctx, unit))) rt.loaded = readFileSync(unitFile(ctx, unit), 'utf8');
      }
      saveRuntime(ctx);
      return 0;
    case 'start':
    case 'stop':
    case 'restart':
    case 'reload':
    case 'try-restart':
      needUnits();
      for (const unit of units) {
        if (verb === 'start') start(ctx, unit);
        else if (verb === 'stop') stop(ctx, unit);
        else if (verb === 'reload') reload(ctx, unit);
        else if (verb === 'restart' || describe(ctx, unit).active === 'active') {
          stop(ctx, unit);
          start(ctx, unit);
        }
      }
      return 0;
    case 'enable':
    case 'disable':
      needUnits();
      for (const unit of units) (verb === 'enable' ? enable : disable)(ctx, unit);
      if (flags.includes('--now')) for (const unit of units) (verb === 'enable' ? start : stop)(ctx, unit);
      return 0;
    case 'is-active': {
      needUnits();
      const states = units.map((u) => describe(ctx, u).active);
      if (!ctx.quiet) states.forEach(out);
      // source: systemctl(1), is-active: "Returns an exit code 0 if at least one is active, or non-zero otherwise"
      // (https://www.freedesktop.org/software/systemd/man/systemctl.html); 3 = LSB "program is not running"
      // (systemd src/systemctl/systemctl-util.h, EXIT_PROGRAM_NOT_RUNNING)
      return states.some((s) => s === 'active') ? 0 : 3;
    }
    case 'is-enabled': {
      needUnits();
      // source: systemctl(1), is-enabled: exit 0 "if at least one is enabled, non-zero otherwise"
      let any = false;
      for (const unit of units) {
        if (!existsSync(unitFile(ctx, unit)))
          throw new UnitError(`Failed to get unit file state for ${unit}: No such file or directory`, 1);
        const enabled = isEnabled(ctx, unit);
        any ||= enabled;
        if (!ctx.quiet) out(enabled ? 'enabled' : 'disabled');
      }
      return any ? 0 : 1;
    }
    case 'status':
      needUnits();
      return Math.max(...units.map((u) => status(ctx, u)));
    case 'show':
      needUnits();
      for (const u of units) show(ctx, u, props, flags.includes('--value'));
      return 0;
    default:
      throw new UnitError(`Unknown command verb '${verb ?? ''}'.`, 1);
  }
}

ensureSystemPath();
try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  err((e as Error).message);
  process.exitCode = e instanceof UnitError ? e.code : 1;
}
