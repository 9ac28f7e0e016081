import { HostLock, type LockStatus } from '../../../history/lock.js';
import type { CommandContext } from '../../context.js';

interface LockOptions {
  service: string;
  env: string;
}

export async function openLock(ctx: CommandContext, o: LockOptions): Promise<HostLock> {
  const target = await ctx.workspace().target(o.service, o.env);
  return new HostLock(target.remote, target.paths.stateDir, o.service, o.env);
}

export function lockDocument(s: LockStatus) {
  return {
    held: s.held,
    holder: s.holder,
    command: s.command,
    since: s.since,
    heartbeatAt: s.heartbeatAt,
    stale: s.stale,
    ...(s.staleReason ? { staleReason: s.staleReason } : {}),
    ...(s.info?.message ? { message: s.info.message } : {}),
    ...(s.info ? { kind: s.info.kind, from: s.info.from } : {}),
  };
}
