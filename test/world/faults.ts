import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { InputError } from '../../src/kernel/errors.js';
import { unknownName } from '../../src/kernel/validate.js';
import { clearCoopCloudFaults, setCoopCloudFault } from './coopcloud/server.js';
import { HEALTHY_MDSTAT } from './mastodon/host.js';
import { MATRIX_FAULTS, setMatrixFault } from './matrix.js';
import { sandboxLayout, type SandboxLayout } from './layout.js';
import { isRunning, readPid, stopPidFile } from './processes.js';
import { setNetnsLink } from './netns.js';
import { sshdFiles } from './sshd.js';
import { readState, writeState, type SandboxHost, type SandboxState } from './state.js';
import { setBackupToolsMissing } from './toolsMissing.js';
import { startS3 } from './world.js';

/**
 * `coopctl sandbox fault TARGET KIND`: the safety net's demo switches. Each
 * fault is something that really happens to the operators' hosts, made real
 * here: a stopped host stops answering (its processes are frozen), a stopped
 * object store refuses connections, a failing migration fails in PostgreSQL.
 */
export const HOST_FAULTS = [
  'migration-fails',
  'post-migration-fails',
  'migrations-slow',
  'dump-slow',
  'health-fails',
  'federation-fails',
  'host-down',
  'raid-degraded',
  'reboot-required',
  'secret-missing',
  'backup-tools-missing',
] as const;
export const APP_FAULTS = [
  'health-fails',
  'abra-upgrade-fails',
  'swarm-rolls-back',
  'converge-timeout',
  'backup-container-not-running',
  'backup-empty-dump',
  'slow',
  'sso-broken',
] as const;
export const STORE_FAULTS = ['store-down', 'store-slow'] as const;

const DEGRADED_MDSTAT =
  'Personalities : [raid1]\nmd0 : active raid1 sda1[0]\n      976630464 blocks super 1.2 [2/1] [U_]\n\nunused devices: <none>\n';

type Resolved =
  | { kind: 'host'; host: SandboxHost }
  | { kind: 'app'; domain: string }
  | { kind: 'store' }
  | { kind: 'matrix' };

function resolveTarget(state: SandboxState, target: string): Resolved {
  if (target === 'store' || target === 's3') return { kind: 'store' };
  if (target === 'matrix' && state.matrix) return { kind: 'matrix' };
  const host = state.hosts.find((h) => h.name === target);
  if (host) return { kind: 'host', host };
  const app = state.coopcloud.apps.find((a) => a.domain === target || a.domain.split('.')[0] === target);
  if (app) return { kind: 'app', domain: app.domain };
  const names = [
    ...state.hosts.map((h) => h.name),
    ...state.coopcloud.apps.map((a) => a.domain.split('.')[0]),
    'store',
    ...(state.matrix ? ['matrix'] : []),
  ];
  throw new InputError(`TARGET: ${unknownName('fault target', target, names)}`);
}

function hostFaultsFile(layout: SandboxLayout, host: string): string {
  return path.join(layout.host(host), 'faults.json');
}

/**
 * secret-missing: the operators' inventory lacks one of the secrets the playbook asserts (a host_vars file
 * that overrides the host's `mastodon_secrets` without DB_PASS), so the playbook stops at its assert.
 */
function setSecretMissing(layout: SandboxLayout, host: string, on: boolean): void {
  const file = path.join(path.dirname(layout.inventory), 'host_vars', `${host}.yml`);
  if (!on) {
    rmSync(file, { force: true });
    return;
  }
  const inv = parse(readFileSync(layout.inventory, 'utf8')) as {
    all: { children: { mastodon: { hosts: Record<string, { mastodon_secrets: Record<string, string> }> } } };
  };
  const { DB_PASS: _, ...secrets } = inv.all.children.mastodon.hosts[host].mastodon_secrets;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    `# sandbox fault secret-missing: DB_PASS is not provided\n${stringify({ mastodon_secrets: secrets })}`,
  );
}

function setHostFaultFlag(layout: SandboxLayout, host: string, kind: string, on: boolean): void {
  const file = hostFaultsFile(layout, host);
  const faults = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, boolean>) : {};
  if (on) faults[kind] = true;
  else delete faults[kind];
  writeFileSync(file, `${JSON.stringify(faults)}\n`);
}

/** Every process serving a host from the outside (sshd, web stand-ins), to freeze or thaw. */
function hostPids(layout: SandboxLayout, h: SandboxHost): number[] {
  const root = layout.host(h.name);
  const files = [sshdFiles(path.join(root, 'etc', 'ssh')).pidFile];
  for (const dir of [root, path.join(root, 'run')]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.endsWith('.pid')) files.push(path.join(dir, f));
  }
  return files.map(readPid).filter((p): p is number => p !== undefined && isRunning(p));
}

function signalPids(pids: number[], signal: 'SIGSTOP' | 'SIGCONT'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

function signalPidFiles(files: string[], signal: 'SIGSTOP' | 'SIGCONT'): void {
  signalPids(
    files.map(readPid).filter((p): p is number => p !== undefined && isRunning(p)),
    signal,
  );
}

function signalHost(layout: SandboxLayout, h: SandboxHost, signal: 'SIGSTOP' | 'SIGCONT'): void {
  signalPids(hostPids(layout, h), signal);
}

async function apply(
  layout: SandboxLayout,
  state: SandboxState,
  r: Resolved,
  kind: string,
  on: boolean,
): Promise<void> {
  if (r.kind === 'store') {
    if (!(STORE_FAULTS as readonly string[]).includes(kind))
      throw new InputError(`KIND: the store takes ${STORE_FAULTS.join(', ')}, not "${kind}"`);
    if (kind === 'store-slow') {
      const flag = path.join(layout.s3.dir, 'slow');
      if (on) writeFileSync(flag, '');
      else rmSync(flag, { force: true });
    } else if (on) await stopPidFile(layout.s3.pidFile);
    else if (!isRunning(readPid(layout.s3.pidFile) ?? -1)) await startS3(layout, state.s3);
    return;
  }
  if (r.kind === 'matrix') {
    if (!(MATRIX_FAULTS as readonly string[]).includes(kind))
      throw new InputError(`KIND: the Matrix homeserver takes ${MATRIX_FAULTS.join(', ')}, not "${kind}"`);
    return setMatrixFault(layout, state.matrix!, kind as (typeof MATRIX_FAULTS)[number], on);
  }
  if (r.kind === 'app') {
    if (!(APP_FAULTS as readonly string[]).includes(kind))
      throw new InputError(`KIND: an app takes ${APP_FAULTS.join(', ')}, not "${kind}"`);
    setCoopCloudFault(layout.host(state.coopcloud.host), r.domain, kind, on);
    return;
  }
  const h = r.host;
  const root = layout.host(h.name);
  switch (kind) {
    case 'host-down':
      if (h.netns) {
        setNetnsLink(h.netns, !on);
        // The Co-op Cloud server's traefik stand-in listens on loopback, outside the namespace.
        if (h.kind === 'coopcloud') signalPidFiles([path.join(root, 'traefik.pid')], on ? 'SIGSTOP' : 'SIGCONT');
      } else signalHost(layout, h, on ? 'SIGSTOP' : 'SIGCONT');
      return;
    case 'raid-degraded':
      writeFileSync(path.join(root, 'proc', 'mdstat'), on ? DEGRADED_MDSTAT : HEALTHY_MDSTAT);
      return;
    case 'reboot-required':
      mkdirSync(path.join(root, 'var', 'run'), { recursive: true });
      if (on) writeFileSync(path.join(root, 'var', 'run', 'reboot-required'), '*** System restart required ***\n');
      else rmSync(path.join(root, 'var', 'run', 'reboot-required'), { force: true });
      return;
    case 'migration-fails':
    case 'post-migration-fails':
    case 'migrations-slow':
    case 'dump-slow':
    case 'health-fails':
    case 'federation-fails':
      if (h.kind === 'coopcloud') {
        if (kind === 'health-fails') return setCoopCloudFault(root, '*', kind, on);
        throw new InputError(`KIND: ${kind} applies to a Mastodon host or an app`);
      }
      return setHostFaultFlag(layout, h.name, kind, on);
    case 'secret-missing':
      if (h.kind !== 'mastodon') throw new InputError('KIND: secret-missing applies to a Mastodon host');
      return setSecretMissing(layout, h.name, on);
    case 'backup-tools-missing':
      return setBackupToolsMissing(root, h, on);
    case 'abra-upgrade-fails':
      if (h.kind === 'coopcloud') return setCoopCloudFault(root, '*', kind, on);
      throw new InputError('KIND: abra-upgrade-fails applies to the Co-op Cloud server or one of its apps');
    default:
      throw new InputError(
        `KIND: unknown fault "${kind}" (a host takes ${HOST_FAULTS.join(', ')}; an app ${APP_FAULTS.join(', ')}; the store ${STORE_FAULTS.join(', ')})`,
      );
  }
}

export async function setFault(dir: string, target: string, kind: string): Promise<SandboxState> {
  const layout = sandboxLayout(dir);
  const state = readState(layout.state);
  await apply(layout, state, resolveTarget(state, target), kind, true);
  state.faults = [
    ...state.faults.filter((f) => !(f.target === target && f.kind === kind)),
    { target, kind, since: new Date().toISOString() },
  ];
  writeState(layout.state, state);
  return state;
}

/** Clears every fault, or only TARGET's. */
export async function clearFaults(dir: string, target?: string): Promise<SandboxState> {
  const layout = sandboxLayout(dir);
  const state = readState(layout.state);
  if (target) resolveTarget(state, target);
  for (const f of state.faults.filter((x) => !target || x.target === target)) {
    await apply(layout, state, resolveTarget(state, f.target), f.kind, false);
  }
  if (!target) {
    for (const h of state.hosts) {
      signalHost(layout, h, 'SIGCONT');
      if (h.netns) setNetnsLink(h.netns, true);
      if (h.kind === 'mastodon') {
        writeFileSync(hostFaultsFile(layout, h.name), '{}\n');
        setSecretMissing(layout, h.name, false);
      }
    }
    clearCoopCloudFaults(layout.host(state.coopcloud.host));
  }
  state.faults = state.faults.filter((x) => target && x.target !== target);
  writeState(layout.state, state);
  return state;
}
