import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { InputError, InterruptedError, LockHeldError, OperationError, ToolOutputError } from '../kernel/errors.js';
import { printable } from '../kernel/validate.js';
import type { RemoteHost } from '../remote/ssh.js';
import { holderHere, registerHeld, unregisterHeld } from './liveLocks.js';
import { currentOperator } from './operator.js';
import { stateDirFor } from './paths.js';

/**
 * One lock per service × environment, held on the target host as a
 * directory (mkdir is atomic) with an info file. Automatic locks carry a
 * heartbeat; a run that died stops beating and its lock reads as stale.
 */
const lockInfoSchema = z.object({
  id: z.string(),
  service: z.string(),
  env: z.string(),
  holder: z.string(),
  from: z.string(),
  pid: z.number().optional(),
  command: z.string(),
  version: z.string().optional(),
  message: z.string().optional(),
  kind: z.enum(['auto', 'manual']),
  since: z.string(),
  heartbeatAt: z.string(),
});
export type LockInfo = z.infer<typeof lockInfoSchema>;

export interface LockStatus {
  held: boolean;
  holder: string | null;
  command: string | null;
  since: string | null;
  heartbeatAt: string | null;
  stale: boolean;
  staleReason?: string;
  info?: LockInfo;
  /** The lock directory's inode on the host: what names a lock without readable details when it is broken. */
  inode?: string;
}

/** What breaking a judged lock did: broke exactly it, found it broken by someone else first, or found it gone. */
export type BreakOutcome =
  | { broken: true }
  | { broken: false; reason: 'already-broken'; by: string }
  | { broken: false; reason: 'changed' };

const HEARTBEAT_MS = 10_000;
export const STALE_AFTER_MS = 60_000;

/** How old a heartbeat may get before the lock reads as stale: COOPCTL_LOCK_STALE_AFTER seconds, else 60 s. */
function staleAfterMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.COOPCTL_LOCK_STALE_AFTER?.trim();
  if (!raw) return STALE_AFTER_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new InputError(`COOPCTL_LOCK_STALE_AFTER: expected a number of seconds, not "${raw}"`);
  return seconds * 1000;
}

/** Beats often enough that a live run never reads as stale under a short threshold. */
function heartbeatMs(staleAfter: number): number {
  return Math.min(HEARTBEAT_MS, Math.max(200, Math.floor(staleAfter / 4)));
}

// Fixed scripts; every value arrives as a positional parameter, never spliced in.
// Exit 75: the lock is held. Exit 73: the state dir or the lock cannot be written (stderr says why); a lock
// directory left without its info file (disk full) is removed again rather than left to read as a dead run.
// The state dir is the operators' own (0700, tightened when it was made otherwise, as far as this user may);
// what is written in it is 0600 (umask 077).
const ACQUIRE =
  'mkdir -p "$1" || exit 73; chmod 700 "$1" 2>/dev/null; umask 077; ' +
  'if ! mkdir "$1/lock" 2>/dev/null; then [ -d "$1/lock" ] && exit 75; mkdir "$1/lock"; exit 73; fi; ' +
  '{ cat > "$1/lock/info.json.tmp" && mv "$1/lock/info.json.tmp" "$1/lock/info.json"; } || ' +
  '{ rm -rf "$1/lock"; exit 73; }';
// The first line is the host's clock, the time of the last heartbeat (the info file's mtime) and the lock
// directory's inode, all read on the host: staleness never depends on how right an operator's laptop clock is.
const READ =
  'if [ -d "$1/lock" ]; then i=$(stat -c %i "$1/lock"); if [ -f "$1/lock/info.json" ]; then ' +
  'echo "$(date +%s.%N) $(date -r "$1/lock/info.json" +%s.%N) $i"; cat "$1/lock/info.json"; ' +
  'else echo "$(date +%s.%N) - $i"; echo "{}"; fi; else date +%s.%N; echo null; fi';
const OURS = 'grep -qF -e "\\"id\\":\\"$2\\"" "$1/lock/info.json" 2>/dev/null';
const WRITE_INFO = 'umask 077; cat > "$1/lock/info.json.tmp" && mv "$1/lock/info.json.tmp" "$1/lock/info.json"';
const BEAT = `${OURS} || exit 75; ${WRITE_INFO}`;
const RELEASE = `${OURS} || exit 75; rm -rf "$1/lock"`;
// Breaks exactly the lock that was judged, as a compare-and-swap on the host: $2 its id, or "" and $3 its inode
// for a lock without readable details; $4 who breaks it. The first breaker renames a directory naming it to
// lock.broken-<key> (a rename onto a directory that is not empty fails: one winner) and moves that lock into it; a
// second breaker of the same lock finds that directory (exit 76, printing who broke it). A lock that is no longer
// the one judged (released, or a new run's) is left alone (exit 75).
const IS_JUDGED =
  'if [ -n "$2" ]; then grep -qF -e "\\"id\\":\\"$2\\"" "$1/$3/info.json" 2>/dev/null; ' +
  'else [ "$(stat -c %i "$1/$3" 2>/dev/null)" = "$4" ]; fi';
const BREAK =
  `judged() { ${IS_JUDGED}; }; d=$1 id=$2 inode=$3 k=\${2:-inode-$3} t="$1/lock.breaking-$$"; umask 077; ` +
  'by_who() { cat "$d/lock.broken-$k/by" 2>/dev/null; exit 76; }; ' +
  'judged "$d" "$id" lock "$inode" || { [ -d "$d/lock.broken-$k" ] && by_who; exit 75; }; ' +
  'mkdir "$t" && printf "%s\\n" "$4" > "$t/by" || exit 73; ' +
  'mv -T "$t" "$d/lock.broken-$k" 2>/dev/null || { rm -rf "$t"; by_who; }; ' +
  'mv -T "$d/lock" "$d/lock.broken-$k/lock" || exit 73; ' +
  // the holder released it and a new run took the lock in the instant between the look and the move: put it back
  'judged "$d" "$id" lock.broken-$k/lock "$inode" && exit 0; ' +
  'mv -T "$d/lock.broken-$k/lock" "$d/lock" && rm -rf "$d/lock.broken-$k"; exit 75';

function sh(script: string, ...args: string[]): string[] {
  return ['sh', '-c', script, 'coopctl-lock', ...args];
}

export function lockStatusFrom(
  raw: string,
  now: Date,
  staleAfter = STALE_AFTER_MS,
  /** The heartbeat's age as the host's own clock tells it; otherwise `now` minus the recorded heartbeat. */
  heartbeatAgeMs?: number,
  /** The process of this machine that took lock `id`, if it was taken from here (liveLocks). */
  holderOf: (id: string) => { pid: number; alive: boolean } | undefined = holderHere,
): LockStatus {
  const parsed = JSON.parse(raw.trim() || 'null') as unknown;
  if (parsed === null)
    return { held: false, holder: null, command: null, since: null, heartbeatAt: null, stale: false };
  const r = lockInfoSchema.safeParse(parsed);
  if (!r.success) {
    // A lock directory without a readable info file: a run died between mkdir and writing it.
    return {
      held: true,
      holder: null,
      command: null,
      since: null,
      heartbeatAt: null,
      stale: true,
      staleReason: 'lock has no readable details (a run died while taking it)',
    };
  }
  const info = r.data;
  let stale = false;
  let staleReason: string | undefined;
  const age = heartbeatAgeMs ?? now.getTime() - Date.parse(info.heartbeatAt);
  if (info.kind === 'auto' && age > staleAfter) {
    stale = true;
    staleReason = `no heartbeat for ${Math.round(age / 1000)}s (the run that took it has stopped)`;
  } else if (info.kind === 'auto') {
    const here = holderOf(info.id);
    if (here && !here.alive) {
      stale = true;
      staleReason = `process ${here.pid} on ${hostname()} is gone`;
    }
  }
  return {
    held: true,
    holder: info.holder,
    command: info.command,
    since: info.since,
    heartbeatAt: info.heartbeatAt,
    stale,
    staleReason,
    info,
  };
}

/** The holder as a person reads it; every field came from the host, so none may act on the terminal. */
export function describeHolder(s: LockStatus): string {
  if (!s.info) return 'an unknown holder';
  const i = s.info;
  const version = i.version && !i.command.includes(i.version) ? ` → ${i.version}` : '';
  const message = i.message ? ` — "${i.message}"` : '';
  return printable(`${i.holder} (${i.from}) since ${i.since}: ${i.command}${version}${message}`);
}

/** `<host now> [<heartbeat mtime>|- <lock inode>]`, the times in seconds since the epoch, as READ prints them. */
function hostTimes(line: string): { now?: Date; ageMs?: number; inode?: string } {
  const [nowText, beatText, inode] = line.trim().split(/\s+/);
  const [now, beat] = [nowText, beatText].map((t) => Number.parseFloat(t ?? '') * 1000);
  if (!Number.isFinite(now)) return {};
  return {
    now: new Date(now),
    ageMs: Number.isFinite(beat) ? Math.max(0, now - beat) : undefined,
    ...(inode && /^\d+$/.test(inode) ? { inode } : {}),
  };
}

export class HostLock {
  private beat?: NodeJS.Timeout;
  /** Set when a heartbeat finds that the lock was taken away (forced release). */
  lost = false;
  private info?: LockInfo;
  private readonly staleAfter = staleAfterMs();

  constructor(
    readonly remote: RemoteHost,
    readonly stateDir: string,
    readonly service: string,
    readonly env: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private get dir(): string {
    return stateDirFor(this.stateDir, this.service, this.env);
  }

  /** Which lock this is, across hosts and state dirs: `user@address:port:/state/service/env`. */
  get location(): string {
    const h = this.remote.target;
    return `${h.user}@${h.address}:${h.port}:${this.dir}`;
  }

  async status(): Promise<LockStatus> {
    const r = await this.remote.exec(sh(READ, this.dir), { mutates: false });
    const newline = r.stdout.indexOf('\n');
    const times = hostTimes(r.stdout.slice(0, Math.max(newline, 0)));
    try {
      const s = lockStatusFrom(r.stdout.slice(newline + 1), times.now ?? this.now(), this.staleAfter, times.ageMs);
      return s.held && times.inode ? { ...s, inode: times.inode } : s;
    } catch {
      throw new ToolOutputError(`${this.remote.target.name}: lock file of ${this.service}/${this.env} is not JSON`);
    }
  }

  /** Takes the lock or throws LockHeldError (exit 4) with the holder's details. */
  async acquire(opts: {
    command: string;
    version?: string;
    message?: string;
    kind: 'auto' | 'manual';
  }): Promise<LockInfo> {
    const op = currentOperator();
    const at = this.now().toISOString();
    const info: LockInfo = {
      id: randomBytes(8).toString('hex'),
      service: this.service,
      env: this.env,
      holder: op.name,
      from: op.from,
      pid: opts.kind === 'auto' ? process.pid : undefined,
      command: opts.command,
      version: opts.version,
      message: opts.message,
      kind: opts.kind,
      since: at,
      heartbeatAt: at,
    };
    const r = await this.remote.exec(sh(ACQUIRE, this.dir), {
      mutates: true,
      stdin: JSON.stringify(info),
      reject: false,
    });
    if (r.exitCode === 75) {
      const s = await this.status();
      const by = s.held ? `is locked by ${describeHolder(s)}` : 'was locked, and released while coopctl looked';
      throw new LockHeldError(`${this.service}/${this.env} ${by}`, {
        hints: s.stale
          ? [
              `the lock looks stale: ${s.staleReason}`,
              `if nobody is working on it: coopctl lock release ${this.service} --env ${this.env} --force -m "why"`,
            ]
          : ['wait for it (--lock-wait 10m) or ask the holder'],
        details: { lock: s },
      });
    }
    if (r.exitCode !== 0) {
      const why = r.stderr.trim().split('\n').at(-1) || `exit ${r.exitCode}`;
      throw new OperationError(
        `${this.remote.target.name}: cannot create the lock directory ${this.dir}/lock: ${why}`,
        {
          hints: [
            `the state dir (stateDir, or the inventory's coopctl_state_dir) must be writable by ` +
              `${this.remote.target.user} on ${this.remote.target.name}, with free space`,
          ],
        },
      );
    }
    this.info = info;
    if (opts.kind === 'auto' && !r.skipped) {
      registerHeld(info.id);
      this.startHeartbeat();
    }
    return info;
  }

  private startHeartbeat(): void {
    this.beat = setInterval(() => {
      if (!this.info) return;
      const next = { ...this.info, heartbeatAt: this.now().toISOString() };
      this.remote
        .exec(sh(BEAT, this.dir, next.id), { mutates: true, stdin: JSON.stringify(next), reject: false })
        .then((r) => {
          if (r.exitCode === 0) this.info = next;
          // 75: the lock on the host is no longer ours (someone forced it away)
          else if (r.exitCode === 75) this.lost = true;
        })
        .catch(() => {
          // a missed beat is not fatal; enough of them make the lock stale, which is the point
        });
    }, heartbeatMs(this.staleAfter));
    this.beat.unref();
  }

  /** Asks the host whether the lock is still ours (a heartbeat only notices a loss after the fact). */
  async stillHeld(): Promise<boolean> {
    if (!this.info || this.lost) return false;
    const r = await this.remote.exec(sh(OURS, this.dir, this.info.id), { mutates: false, reject: false });
    if (r.exitCode !== 0 && !r.skipped) this.lost = true;
    return !this.lost;
  }

  /** Stops the heartbeat and leaves the lock on the host, to read as stale: a run that wants someone to look. */
  abandon(): void {
    clearInterval(this.beat);
    this.info = undefined;
  }

  /** Releases our own lock. Returns false when it was no longer ours (forced away); throws when it failed. */
  async release(): Promise<boolean> {
    clearInterval(this.beat);
    if (!this.info) return false;
    const id = this.info.id;
    this.info = undefined;
    unregisterHeld(id);
    return this.releaseById(id);
  }

  /** Releases a lock by its id (a manual lock taken earlier by this operator); false: it is not that lock. */
  async releaseById(id: string): Promise<boolean> {
    const r = await this.remote.exec(sh(RELEASE, this.dir, id), { mutates: true, reject: false });
    if (r.exitCode === 75) return false;
    if (r.exitCode !== 0)
      throw new OperationError(`${this.remote.target.name}: could not remove ${this.dir}/lock: ${r.stderr.trim()}`);
    return true;
  }

  /**
   * Breaks exactly the lock that was judged (by its id; by its directory's inode when it has no readable details),
   * moving it aside for inspection; the caller records the outcome in history. Two operators breaking the same lock
   * cannot both win, and a lock that is no longer the one judged (a new run's) is never touched.
   */
  async breakLock(judged: LockStatus): Promise<BreakOutcome> {
    if (!judged.held) return { broken: false, reason: 'changed' };
    if (!judged.info && !judged.inode) throw new Error('internal: a lock without details is broken by its inode');
    const op = currentOperator();
    const args = [this.dir, judged.info?.id ?? '', judged.inode ?? '', `${op.name} (${op.from})`];
    const r = await this.remote.exec(sh(BREAK, ...args), { mutates: true, reject: false });
    if (r.exitCode === 0 || r.skipped) return { broken: true };
    if (r.exitCode === 76) return { broken: false, reason: 'already-broken', by: r.stdout.trim() || 'someone' };
    if (r.exitCode === 75) return { broken: false, reason: 'changed' };
    throw new OperationError(
      `${this.remote.target.name}: could not move ${this.dir}/lock aside: ${r.stderr.trim() || `exit ${r.exitCode}`}`,
    );
  }
}

const MAX_RACES = 5;

interface AcquireOptions {
  command: string;
  version?: string;
  /** Wait this long for an automatic lock to be released (never for a manual one). */
  waitMs?: number;
  onWait?: (s: LockStatus) => void;
  /** A stale lock the operator chose to break: broken (by its id) before the lock is taken, whatever came of it
   * recorded; another operator breaking it at the same time cannot break it too. */
  breakStale?: { judged: LockStatus; record: (outcome: BreakOutcome) => Promise<void> };
  pollMs?: number;
  /** SIGINT/SIGTERM: stop waiting. */
  signal?: AbortSignal;
}

/** Takes an automatic lock: waits for other automatic runs if asked, never for a manual lock. */
export async function acquireAutoLock(lock: HostLock, o: AcquireOptions): Promise<LockInfo> {
  const deadline = Date.now() + (o.waitMs ?? 0);
  const interrupted = () =>
    new InterruptedError(`interrupted while waiting for the lock of ${lock.service}/${lock.env}; nothing was changed`);
  if (o.breakStale) await o.breakStale.record(await lock.breakLock(o.breakStale.judged));
  // A lock released between our mkdir and our look at it is simply tried again, a few times only.
  let races = 0;
  for (;;) {
    if (o.signal?.aborted) throw interrupted();
    try {
      return await lock.acquire({ command: o.command, version: o.version, kind: 'auto' });
    } catch (err) {
      if (!(err instanceof LockHeldError)) throw err;
      const s = (err.details?.lock as LockStatus | undefined) ?? (await lock.status());
      if (!s.held) {
        if (++races > MAX_RACES) throw err;
        continue;
      }
      if (s.stale || s.info?.kind === 'manual' || Date.now() >= deadline) throw err;
      o.onWait?.(s);
      await sleep(Math.min(o.pollMs ?? 2000, Math.max(0, deadline - Date.now())), undefined, {
        signal: o.signal,
      }).catch(() => {});
    }
  }
}
