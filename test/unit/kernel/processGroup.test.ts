import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ExecaRunner } from '../../../src/kernel/process.js';

const pgidOf = (pid: number) =>
  Number(
    execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)])
      .toString()
      .trim(),
  );
const groupAlive = (pgid: number) => {
  try {
    // a zombie waits for its (re)parent to reap it: it runs nothing any more
    const states = execFileSync('ps', ['-e', '-o', 'pgid=,stat=']).toString().trim().split('\n');
    return states.map((l) => l.trim().split(/\s+/)).some(([g, stat]) => Number(g) === pgid && !stat.startsWith('Z'));
  } catch {
    return false;
  }
};

describe('a command in its own process group (the playbook)', () => {
  it("is not in coopctl's group, so a terminal's Ctrl-C reaches coopctl only; an abort stops the whole group", async () => {
    const ctl = new AbortController();
    let leader = 0;
    const running = new ExecaRunner(false).run('sh', ['-c', 'trap "exit 130" INT; sleep 30 & echo $$; wait'], {
      mutates: false,
      reject: false,
      signal: ctl.signal,
      ownProcessGroup: true,
      onLine: (line) => {
        leader = Number(line);
      },
    });
    while (!leader) await new Promise((r) => setTimeout(r, 20));
    const pgid = pgidOf(leader);
    expect(pgid).toBe(leader);
    expect(pgid).not.toBe(pgidOf(process.pid));
    ctl.abort();
    const started = Date.now();
    const r = await running;
    expect(r.exitCode).toBe(130);
    // the leader's exit ends the rest of its group at once: nothing keeps the run waiting on its output
    expect(Date.now() - started).toBeLessThan(5_000);
    // the background `sleep` (which ignores SIGINT, as a shell's background jobs do) was in the group too
    await new Promise((res) => setTimeout(res, 100));
    expect(groupAlive(pgid)).toBe(false);
  });
});
