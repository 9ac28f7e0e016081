import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireAutoLock, type BreakOutcome, describeHolder, HostLock } from '../../../src/history/lock.js';
import { releaseManualLock, takeManualLock } from '../../../src/history/manualLock.js';
import { InterruptedError, LockHeldError, OperationError } from '../../../src/kernel/errors.js';
import type { RemoteCommand } from '../../../src/remote/quote.js';
import type { ExecOptions } from '../../../src/remote/ssh.js';
import { LocalHost } from '../../helpers/localHost.js';

/** Locks on this machine's files through a real sh, as on a host: what goes wrong around taking one. */
const root = mkdtempSync(path.join(os.tmpdir(), 'coopctl-hostlock-'));
const remote = new LocalHost();
const taken: HostLock[] = [];
const lockIn = (stateDir: string, now?: () => Date) => {
  const l = new HostLock(remote, stateDir, 'bot', 'prod', now);
  taken.push(l);
  return l;
};
const within = <T>(ms: number, p: Promise<T>) =>
  Promise.race([p, new Promise<never>((_, no) => setTimeout(() => no(new Error(`still running after ${ms} ms`)), ms))]);

afterEach(async () => {
  for (const l of taken.splice(0)) await l.release().catch(() => {});
});

describe('taking a lock on a host', () => {
  it('a state dir that cannot be created is an error naming the path, not "lock held", and no endless retry', async () => {
    // A file where a directory should be: mkdir fails as it does on a read-only or full disk, even as root.
    writeFileSync(path.join(root, 'not-a-dir'), '');
    const stateDir = path.join(root, 'not-a-dir', 'state');
    const err = await within(5000, acquireAutoLock(lockIn(stateDir), { command: 'upgrade', waitMs: 0 })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OperationError);
    expect(err).not.toBeInstanceOf(LockHeldError);
    expect((err as Error).message).toContain(`cannot create the lock directory ${stateDir}/bot/prod/lock`);
    expect((err as Error).message).toMatch(/Not a directory/);
  });

  it('a lock that vanishes each time between taking and looking is tried a few times, then reported', async () => {
    // The host answers every mkdir "exists" but shows no lock: today's loop spun on this forever.
    const racing = new LocalHost();
    const exec = racing.exec.bind(racing);
    racing.exec = (cmd: RemoteCommand, opts: ExecOptions) =>
      Array.isArray(cmd) && String(cmd[2]).startsWith('mkdir -p')
        ? Promise.resolve({ stdout: '', stderr: '', exitCode: 75, skipped: false })
        : exec(cmd, opts);
    const lock = new HostLock(racing, path.join(root, 'racing'), 'bot', 'prod');
    const err = await within(5000, acquireAutoLock(lock, { command: 'upgrade', waitMs: 60_000, pollMs: 10 })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as Error).message).toContain('released while coopctl looked');
  });

  it('waiting for another run stops at once on Ctrl-C', async () => {
    const stateDir = path.join(root, 'wait');
    await lockIn(stateDir).acquire({ command: 'upgrade bot', kind: 'auto' });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 200);
    const started = Date.now();
    const err = await acquireAutoLock(lockIn(stateDir), {
      command: 'upgrade',
      waitMs: 60_000,
      pollMs: 30_000,
      signal: ctl.signal,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('a manual lock belongs to its lock id, not to a name', () => {
  const laptop = (name: string) => ({
    COOPCTL_OPERATOR: name,
    XDG_STATE_HOME: mkdtempSync(path.join(root, 'state-home-')),
  });
  const ana = laptop('Ana');

  it("someone calling themselves Ana cannot release Ana's lock without --force; Ana can", async () => {
    const stateDir = path.join(root, 'manual');
    const operator = process.env.COOPCTL_OPERATOR;
    process.env.COOPCTL_OPERATOR = 'Ana';
    try {
      await takeManualLock(lockIn(stateDir), { message: 'db maintenance' }, ana);
    } finally {
      if (operator === undefined) delete process.env.COOPCTL_OPERATOR;
      else process.env.COOPCTL_OPERATOR = operator;
    }
    const impostor = laptop('Ana');
    const err = await releaseManualLock(lockIn(stateDir), {}, impostor).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as LockHeldError).hints.join(' ')).toContain('it was not taken from here');
    expect((await lockIn(stateDir).status()).held).toBe(true);
    expect(await releaseManualLock(lockIn(stateDir), {}, ana)).toMatchObject({ forced: false });
    expect((await lockIn(stateDir).status()).held).toBe(false);
  });
});

describe('breaking a lock replaces exactly the lock that was judged', () => {
  it('two operators breaking the same lock at the same moment: exactly one breaks it, every time', async () => {
    for (let round = 0; round < 10; round++) {
      const stateDir = path.join(root, `break-race-${round}`);
      await lockIn(stateDir).acquire({ command: 'lock acquire', kind: 'manual' });
      const [bo, cy] = [lockIn(stateDir), lockIn(stateDir)];
      const [judgedByBo, judgedByCy] = await Promise.all([bo.status(), cy.status()]);
      const outcomes = await Promise.all([bo.breakLock(judgedByBo), cy.breakLock(judgedByCy)]);
      expect(outcomes.filter((o) => o.broken)).toHaveLength(1);
      expect(outcomes.find((o) => !o.broken)).toMatchObject({ reason: 'already-broken' });
      expect((await lockIn(stateDir).status()).held).toBe(false);
    }
  });

  it("a lock judged stale that someone broke and replaced since: the new holder's lock is left alone", async () => {
    const stateDir = path.join(root, 'break-late');
    await lockIn(stateDir).acquire({ command: 'upgrade bot', kind: 'manual' });
    const [bo, cy] = [lockIn(stateDir), lockIn(stateDir)];
    const judged = await cy.status();
    expect(await bo.breakLock(await bo.status())).toEqual({ broken: true });
    const boLock = await bo.acquire({ command: 'upgrade bot', kind: 'manual' });
    const late = await cy.breakLock(judged);
    expect(late).toMatchObject({ broken: false, reason: 'already-broken' });
    expect((late as { by: string }).by).toContain(os.userInfo().username);
    expect((await cy.status()).info?.id).toBe(boLock.id);
  });

  it('a lock the holder released and a new run took is "changed", and left alone', async () => {
    const stateDir = path.join(root, 'break-changed');
    const holder = lockIn(stateDir);
    await holder.acquire({ command: 'upgrade bot', kind: 'manual' });
    const judged = await lockIn(stateDir).status();
    await holder.release();
    const next = await lockIn(stateDir).acquire({ command: 'upgrade bot', kind: 'manual' });
    expect(await lockIn(stateDir).breakLock(judged)).toEqual({ broken: false, reason: 'changed' });
    expect((await lockIn(stateDir).status()).info?.id).toBe(next.id);
  });

  it('a lock without readable details (a run died taking it) is broken once, by its directory', async () => {
    const stateDir = path.join(root, 'break-noinfo');
    mkdirSync(path.join(stateDir, 'bot', 'prod', 'lock'), { recursive: true });
    const judged = await lockIn(stateDir).status();
    expect(judged).toMatchObject({ held: true, stale: true });
    const outcomes = await Promise.all([lockIn(stateDir).breakLock(judged), lockIn(stateDir).breakLock(judged)]);
    expect(outcomes.filter((o) => o.broken)).toHaveLength(1);
    expect(existsSync(path.join(stateDir, 'bot', 'prod', 'lock'))).toBe(false);
    expect(readdirSync(path.join(stateDir, 'bot', 'prod')).filter((f) => f.startsWith('lock.broken-'))).toHaveLength(1);
  });

  it('two runs told to break the same stale lock: one breaks it and runs, the other is refused; both recorded', async () => {
    const stateDir = path.join(root, 'break-runs');
    await lockIn(stateDir).acquire({ command: 'upgrade bot', kind: 'manual' });
    const judged = await lockIn(stateDir).status();
    const recorded: BreakOutcome[] = [];
    const run = () =>
      acquireAutoLock(lockIn(stateDir), {
        command: 'upgrade bot',
        breakStale: { judged, record: async (o) => void recorded.push(o) },
      });
    const results = await Promise.allSettled([run(), run()]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(LockHeldError);
    expect(recorded.map((o) => o.broken).sort()).toEqual([false, true]);
  });
});

describe("a lock's liveness is bound to its lock id, not to user@hostname", () => {
  const registry = (id: string) => path.join(os.tmpdir(), `coopctl-${process.getuid!()}`, 'locks-held', id);

  it('a live lock of another machine with the same user@hostname and a pid dead here is not stale', async () => {
    const stateDir = path.join(root, 'same-name');
    const dir = path.join(stateDir, 'bot', 'prod', 'lock');
    mkdirSync(dir, { recursive: true });
    const at = new Date().toISOString();
    const info = {
      id: 'f00dcafe00000001',
      service: 'bot',
      env: 'prod',
      holder: 'Ana',
      from: `${os.userInfo().username}@${os.hostname()}`,
      pid: 2 ** 22 + 4321,
      command: 'upgrade bot',
      kind: 'auto',
      since: at,
      heartbeatAt: at,
    };
    writeFileSync(path.join(dir, 'info.json'), JSON.stringify(info));
    expect(await lockIn(stateDir).status()).toMatchObject({ held: true, stale: false });
  });

  it("a process that got the dead holder's pid does not keep its lock alive", async () => {
    const stateDir = path.join(root, 'pid-reused');
    const info = await lockIn(stateDir).acquire({ command: 'upgrade bot', kind: 'auto' });
    expect(await lockIn(stateDir).status()).toMatchObject({ stale: false });
    // the holder died and the system gave its pid (ours) to a new process: same pid, another start
    writeFileSync(registry(info.id), JSON.stringify({ pid: process.pid, start: '1' }));
    const s = await lockIn(stateDir).status();
    expect(s).toMatchObject({ stale: true, staleReason: `process ${process.pid} on ${os.hostname()} is gone` });
  });

  it('released, the lock is no longer registered here', async () => {
    const l = lockIn(path.join(root, 'registered'));
    const info = await l.acquire({ command: 'upgrade bot', kind: 'auto' });
    expect(existsSync(registry(info.id))).toBe(true);
    await l.release();
    expect(existsSync(registry(info.id))).toBe(false);
  });
});

describe('staleness is judged by the host clock', () => {
  const minutes = (n: number) => n * 60_000;

  it("a live run's lock is not stale when the reader's laptop clock runs ahead", async () => {
    const stateDir = path.join(root, 'ahead');
    await lockIn(stateDir).acquire({ command: 'upgrade bot', kind: 'auto' });
    const reader = lockIn(stateDir, () => new Date(Date.now() + minutes(10)));
    expect(await reader.status()).toMatchObject({ held: true, stale: false });
  });

  it("a live run's lock is not stale when the holder's laptop clock runs behind", async () => {
    const stateDir = path.join(root, 'behind');
    await lockIn(stateDir, () => new Date(Date.now() - minutes(10))).acquire({ command: 'upgrade', kind: 'auto' });
    expect(await lockIn(stateDir).status()).toMatchObject({ held: true, stale: false });
  });
});

describe('a lock as it is shown', () => {
  it('escape sequences in the message and the holder are neutralised', () => {
    const s = {
      held: true,
      holder: 'Ana\x1b]0;pwned\x07',
      command: 'lock acquire',
      since: '2026-11-26T10:00:00Z',
      heartbeatAt: '2026-11-26T10:00:00Z',
      stale: false,
      info: {
        id: 'x',
        service: 'bot',
        env: 'prod',
        holder: 'Ana\x1b]0;pwned\x07',
        from: 'ana@laptop',
        command: 'lock acquire',
        message: 'maintenance \x1b[2J\x1b[31mdone\x9b',
        kind: 'manual' as const,
        since: '2026-11-26T10:00:00Z',
        heartbeatAt: '2026-11-26T10:00:00Z',
      },
    };
    const shown = describeHolder(s);
    expect(shown).not.toMatch(/[\x1b\x07\x9b]/);
    expect(shown).toContain('Ana\\x1b]0;pwned\\x07');
    expect(shown).toContain('maintenance \\x1b[2J\\x1b[31mdone\\x9b');
  });
});
