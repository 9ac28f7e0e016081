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
