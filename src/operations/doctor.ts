import { DOCTOR_PROBES } from '../checks/doctor/index.js';
import { firstLine } from '../checks/doctor/tools.js';
import { HostView } from '../pipeline/view.js';
import { sshCheck } from '../checks/ssh.js';
import { mapLimit } from '../kernel/concurrency.js';
import { errorMessage } from '../kernel/errors.js';
import type { ProcessRunner } from '../kernel/process.js';
import { type DoctorFinding, finding } from '../targets/doctor.js';
import type { DoctorProbe, Target } from '../targets/target.js';
import type { Workspace } from '../workspace/workspace.js';

/** A finding with where it was made: an inventory host, or `local` (this machine). */
interface PlacedFinding extends DoctorFinding {
  host: string;
}

export interface DoctorReport {
  ok: boolean;
  findings: PlacedFinding[];
}

/** At most this many probes of one host at once: one SSH connection, whose sshd may allow 10 sessions. */
const PROBES_PER_HOST = 4;

interface Planned {
  probe: DoctorProbe;
  /** The targets whose driver or profile brings the probe (every one, for the generic host probes). */
  targets: Target[];
}

/** The probes of a scope that the targets' drivers and profiles bring, once each, with the targets they cover. */
function probesOf(targets: readonly Target[], scope: DoctorProbe['scope']): Planned[] {
  const planned = new Map<string, Planned>();
  const add = (p: DoctorProbe, t: Target) => {
    if (p.scope !== scope || !(p.appliesTo?.(t) ?? true)) return;
    const entry = planned.get(p.id) ?? { probe: p, targets: [] };
    if (!entry.targets.includes(t)) entry.targets.push(t);
    planned.set(p.id, entry);
  };
  for (const t of targets) {
    for (const p of [...DOCTOR_PROBES, ...(t.driver.doctor ?? []), ...(t.profile.doctor ?? [])]) add(p, t);
  }
  return [...planned.values()];
}

/** Runs a probe; one that throws is a finding that says what it could not tell. */
async function runProbe(
  ws: Workspace,
  runner: ProcessRunner,
  { probe, targets }: Planned,
  subject: string,
): Promise<DoctorFinding[]> {
  const [target] = targets;
  try {
    return await probe.run({ context: ws, runner, target, targets, facts: new HostView(ws, target).facts });
  } catch (err) {
    return [
      finding(probe.id, subject, 'unknown', {
        found: firstLine(errorMessage(err)),
        assumes: 'coopctl could not read what this probe looks at',
        action: 'nothing was changed; run the probe again, or look at the error',
      }),
    ];
  }
}

/** The host answers (its key verified; sudo -n works with ansible_become), as preflight's ssh check asks it. */
async function reachable(ws: Workspace, runner: ProcessRunner, t: Target): Promise<DoctorFinding> {
  const r = await sshCheck.run({
    target: t,
    context: ws,
    runner,
    facts: new HostView(ws, t).facts,
    allowPrerelease: false,
  });
  const where = `${t.remote.target.user}@${t.host.name}`;
  return finding('ssh', where, r.status === 'pass' ? 'ok' : 'fail', {
    found: firstLine(r.message),
    assumes: `coopctl reaches ${t.host.name} over SSH as your ssh does, its host key verified`,
    action: r.status === 'pass' ? 'runs its commands there' : `nothing runs on ${t.host.name}: ${r.fix ?? ''}`,
  });
}

async function probeHost(ws: Workspace, runner: ProcessRunner, targets: readonly Target[]): Promise<DoctorFinding[]> {
  const [first] = targets;
  const ssh = await reachable(ws, runner, first);
  if (ssh.status === 'fail') {
    const perTarget = probesOf(targets, 'target').reduce((n, p) => n + p.targets.length, 0);
    const skipped = probesOf(targets, 'host').length + perTarget;
    ssh.action += `; the ${skipped} other probes of this host were not run`;
    return [ssh];
  }
  const jobs = [
    ...probesOf(targets, 'host').map((p) => () => runProbe(ws, runner, p, first.host.name)),
    ...probesOf(targets, 'target').flatMap((p) =>
      p.targets.map((t) => () => runProbe(ws, runner, { probe: p.probe, targets: [t] }, `${t.service}/${t.env}`)),
    ),
  ];
  return [ssh, ...(await mapLimit(jobs, PROBES_PER_HOST, (job) => job())).flat()];
}

/** Every selected target, resolved before anything runs remotely: a config error stops here (exit 2). */
export async function doctorTargets(ws: Workspace, filter: { service?: string; env?: string }): Promise<Target[]> {
  const targets: Target[] = [];
  for (const { service, env } of ws.select(filter)) targets.push(await ws.target(service, env));
  return targets;
}

/**
 * `coopctl doctor`: every assumption coopctl makes about the targets' hosts and tools, read and never changed:
 * this machine's tools, and the hosts in parallel, each host's findings together. A host that does not answer is
 * one finding.
 */
export async function runDoctor(
  ws: Workspace,
  runner: ProcessRunner,
  targets: readonly Target[],
): Promise<DoctorReport> {
  const hosts = [...new Set(targets.map((t) => t.host.name))];
  const local = probesOf(targets, 'local').map((p) => runProbe(ws, runner, p, 'this machine'));
  const [localFindings, hostFindings] = await Promise.all([
    Promise.all(local).then((f) => f.flat()),
    mapLimit(hosts, ws.config.ssh.parallel, (h) =>
      probeHost(
        ws,
        runner,
        targets.filter((t) => t.host.name === h),
      ),
    ),
  ]);
  const findings: PlacedFinding[] = [
    ...localFindings.map((f) => ({ host: 'local', ...f })),
    ...hostFindings.flatMap((fs, i) => fs.map((f) => ({ host: hosts[i], ...f }))),
  ];
  return { ok: !findings.some((f) => f.status === 'fail'), findings };
}
