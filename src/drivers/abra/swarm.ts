import { ToolOutputError } from '../../kernel/errors.js';
import type { RemoteHost } from '../../remote/ssh.js';

/**
 * Docker Swarm on a Co-op Cloud server, asked directly over SSH: abra's converge check gives up before slow apps
 * settle and says nothing when told not to wait, so coopctl reads the services' replicas itself. Builders return
 * argument arrays; the helpers below run them.
 */

/** abra's stack name of an app: its domain with `.` → `_` (auth.social.coop → auth_social_coop). */
export function stackName(domain: string): string {
  return domain.replace(/\./g, '_');
}

/** `docker service ls` of one stack, or of the whole swarm. */
export function serviceListCommand(stack?: string): string[] {
  const filter = stack === undefined ? [] : ['--filter', `label=com.docker.stack.namespace=${stack}`];
  return ['docker', 'service', 'ls', ...filter, '--format', '{{json .}}'];
}

export function scaleCommand(service: string, replicas: number): string[] {
  return ['docker', 'service', 'scale', `${service}=${replicas}`];
}

export interface SwarmService {
  name: string;
  running: number;
  desired: number;
  image?: string;
}

/** `docker service ls --format '{{json .}}'`: a JSON object per line; Replicas "1/1" (or "1/1 (max 1 per node)"). */
export function parseServiceList(stdout: string): SwarmService[] {
  const services: SwarmService[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    let doc: { Name?: unknown; Replicas?: unknown; Image?: unknown };
    try {
      doc = JSON.parse(line) as typeof doc;
    } catch {
      throw new ToolOutputError(`docker service ls: not a JSON line: ${line.slice(0, 120)}`);
    }
    const replicas = /^(\d+)\/(\d+)/.exec(String(doc.Replicas ?? ''));
    if (typeof doc.Name !== 'string' || !replicas) {
      throw new ToolOutputError(`docker service ls: no Name or Replicas in ${line.slice(0, 120)}`);
    }
    services.push({
      name: doc.Name,
      running: Number(replicas[1]),
      desired: Number(replicas[2]),
      image: typeof doc.Image === 'string' ? doc.Image : undefined,
    });
  }
  return services;
}

/** The services of a stack, or (no stack) every service of the swarm. */
export async function stackServices(remote: RemoteHost, stack?: string): Promise<SwarmService[]> {
  const r = await remote.exec(serviceListCommand(stack), { mutates: false, timeoutMs: 60_000 });
  return parseServiceList(r.stdout);
}

/** Whether every service of the stack runs all its replicas; what does not, in words. */
export function convergence(services: readonly SwarmService[]): { converged: boolean; message: string } {
  if (!services.length) return { converged: false, message: 'the swarm runs no service of the stack' };
  const lagging = services.filter((s) => s.desired === 0 || s.running < s.desired);
  if (!lagging.length) return { converged: true, message: `${services.length} swarm services converged` };
  const say = (s: SwarmService) => (s.desired === 0 ? `${s.name} scaled to 0` : `${s.name} ${s.running}/${s.desired}`);
  return { converged: false, message: `not converged: ${lagging.map(say).join(', ')}` };
}

/** `docker service ps` of some services: every task, with its desired and current state. */
function taskListCommand(services: readonly string[]): string[] {
  return ['docker', 'service', 'ps', '--no-trunc', '--format', '{{json .}}', ...services];
}

interface SwarmTask {
  name: string;
  desired: string;
  current: string;
}

/** `docker service ps --format '{{json .}}'`: DesiredState "Running"/"Shutdown", CurrentState "Running 5s ago". */
export function parseTaskList(stdout: string): SwarmTask[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      let doc: { Name?: unknown; DesiredState?: unknown; CurrentState?: unknown };
      try {
        doc = JSON.parse(line) as typeof doc;
      } catch {
        throw new ToolOutputError(`docker service ps: not a JSON line: ${line.slice(0, 120)}`);
      }
      if (typeof doc.DesiredState !== 'string' || typeof doc.CurrentState !== 'string') {
        throw new ToolOutputError(`docker service ps: no DesiredState or CurrentState in ${line.slice(0, 120)}`);
      }
      return { name: String(doc.Name ?? '?'), desired: doc.DesiredState, current: doc.CurrentState };
    });
}

/** Tasks the swarm is replacing that still run (a failed version's task, migrating on boot, is one). */
export function endingTasks(tasks: readonly SwarmTask[]): SwarmTask[] {
  const live = /^(new|pending|assigned|accepted|preparing|ready|starting|running)\b/i;
  return tasks.filter((t) => !/^running$/i.test(t.desired) && live.test(t.current));
}

/**
 * Waits until no task the swarm is replacing in the stack still runs: the tasks of a failed version may go on
 * migrating on boot after the stack was rolled back (swarm's update order is stop-first, and a stopping task
 * finishes what it runs). Throws when they outlast `budgetMs`: nothing should be read or restored under them.
 */
export async function waitForEndingTasks(
  remote: RemoteHost,
  stack: string,
  budgetMs: number,
  report: (line: string) => void,
  pollMs = 1000,
): Promise<void> {
  const deadline = Date.now() + budgetMs;
  let told = '';
  for (;;) {
    const services = (await stackServices(remote, stack)).map((s) => s.name);
    const r = services.length
      ? await remote.exec(taskListCommand(services), { mutates: false, timeoutMs: 60_000 })
      : { stdout: '' };
    const ending = endingTasks(parseTaskList(r.stdout));
    if (!ending.length) return;
    const line = `waiting for ${ending.map((t) => `${t.name} (${t.current})`).join(', ')} to end`;
    if (line !== told) report(line);
    told = line;
    if (Date.now() >= deadline) {
      throw new ToolOutputError(
        `${ending.map((t) => t.name).join(', ')} still running after ${Math.round(budgetMs / 1000)}s ` +
          'though the swarm is replacing them (a migration on boot?)',
      );
    }
    await new Promise((res) => setTimeout(res, pollMs));
  }
}
