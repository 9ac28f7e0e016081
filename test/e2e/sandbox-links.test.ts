import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { coopctl, json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { isRunning, readPid } from '../world/processes.js';
import type { SandboxState } from '../world/state.js';

/**
 * The sandbox's links shaped like production's (issue 9): the operator at home (30 ms, 20 Mbit/s towards
 * the hosts), the hosts and the object store in a data centre. Measured with OpenSSH through the files the
 * sandbox writes, as an operator's ssh (and Ansible) would connect.
 */
const root = process.getuid?.() === 0;
const open: TestSandbox[] = [];

afterAll(async () => {
  for (const sb of open) await sb.down();
});

interface Measured {
  rttMs: number;
  mbitTowardsHost: number;
}

/** SSH round trips (a line echoed on an open session) and a 6 MB upload to alpha, as the inventory says to connect. */
async function measure(sb: TestSandbox): Promise<Measured> {
  const inv = parse(readFileSync(path.join(sb.dir, 'inventories', 'sandbox.yml'), 'utf8'));
  const alpha = inv.all.children.mastodon.hosts.alpha;
  const base = [
    ...alpha.ansible_ssh_common_args.split(' '),
    '-i',
    alpha.ansible_ssh_private_key_file,
    '-o',
    'BatchMode=yes',
    '-p',
    String(alpha.ansible_port),
    `${alpha.ansible_user}@${alpha.ansible_host}`,
  ];
  // Host keys are checked strictly against the sandbox's known_hosts (StrictHostKeyChecking=yes in the args).
  const echo = spawn('ssh', [...base, 'while IFS= read -r l; do printf "%s\\n" "$l"; done']);
  let out = '';
  echo.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const echoed = (line: string) =>
    new Promise<void>((resolve, reject) => {
      const seen = () => {
        if (!out.includes(line)) return;
        echo.stdout.off('data', seen);
        resolve();
      };
      echo.stdout.on('data', seen);
      echo.once('exit', (code) => reject(new Error(`ssh exited ${code}`)));
      seen();
    });
  echo.stdin.write('ready\n');
  await echoed('ready');
  const rtts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    echo.stdin.write(`ping ${i}\n`);
    await echoed(`ping ${i}`);
    rtts.push(performance.now() - t);
  }
  echo.stdin.end();
  // Timed on the host, from the first line to the end, so that the SSH handshake is not counted.
  const bytes = 6 * 1024 * 1024;
  const timed = 'IFS= read -r _ && s=$(date +%s%N) && cat > /dev/null && echo $(( ($(date +%s%N) - s) / 1000 ))';
  const up = spawnSync('ssh', [...base, timed], {
    input: Buffer.concat([Buffer.from('go\n'), Buffer.alloc(bytes, 'x')]),
    encoding: 'utf8',
  });
  if (up.status !== 0) throw new Error(`ssh upload: exit ${up.status}: ${up.stderr}`);
  const seconds = Number(up.stdout.trim()) / 1e6;
  return { rttMs: Math.min(...rtts), mbitTowardsHost: (bytes * 8) / seconds / 1e6 };
}

/** A sandbox with that link, and what it measures (printed, for the record). */
async function measuredSandbox(link: 'home' | 'none'): Promise<{ sb: TestSandbox; m: Measured }> {
  const sb = await startSandbox({ link });
  open.push(sb);
  const m = await measure(sb);
  console.log(`--link ${link}: ${JSON.stringify(m)}`);
  return { sb, m };
}

const state = (sb: TestSandbox) => JSON.parse(readFileSync(path.join(sb.dir, 'sandbox.json'), 'utf8')) as SandboxState;

describe('sandbox up --link: bad input', () => {
  it('an unknown link, or a shaped one without namespaces, exits 2 naming --link and builds nothing', async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'coopctl-links-bad-')), 'sb');
    const bogus = await coopctl(['sandbox', 'up', '--dir', dir, '--link', 'dsl']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain('--link: "dsl" is not one of home, lan, none');
    const loopback = await coopctl(['sandbox', 'up', '--dir', dir, '--no-netns', '--link', 'home']);
    expect(loopback.code).toBe(2);
    expect(loopback.stderr).toContain('--link home: shaping links needs the hosts in network namespaces');
    expect(existsSync(path.join(dir, 'sandbox.json'))).toBe(false);
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });
});

describe.skipIf(!root)('sandbox links, as root (hosts in network namespaces)', () => {
  it('--link home: 30 ms round trip and 20 Mbit/s towards the hosts, host keys verified through the relay', async () => {
    const { sb, m } = await measuredSandbox('home');
    expect(m.rttMs).toBeGreaterThanOrEqual(28);
    expect(m.mbitTowardsHost).toBeGreaterThan(10);
    expect(m.mbitTowardsHost).toBeLessThan(25);

    // coopctl connects through the relay as if it were the host: its key is the host's, checked strictly.
    const pf = json<{ checks: Array<{ id: string; status: string; message: string }> }>(
      await sb.run(['--json', 'preflight', 'mastodon', '--env', 'alpha', '--to', '4.4.8']),
    );
    expect(pf.checks.find((c) => c.id === 'ssh')).toMatchObject({ status: 'pass' });
    expect(pf.checks.find((c) => c.id === 'ssh')!.message).toContain('host key verified');
    // The operator's S3 goes through the home link too, and comes back intact.
    const made = json<{ id: string }>(
      await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'alpha', '--store', 's3']),
    );
    const verify = await sb.run(['backup', 'verify', made.id, '--store', 's3']);
    expect(verify.code, verify.stderr).toBe(0);

    // The hosts reach the store over their own data-centre link, not over the operator's.
    const st = state(sb);
    const alpha = st.hosts.find((h) => h.name === 'alpha')!;
    const store = st.s3.netns!;
    const route = execFileSync('ip', ['-n', alpha.netns!.ns, 'route', 'get', store.address], { encoding: 'utf8' });
    expect(route).toContain(`dev ${alpha.storeLink!.host}`);
    const fromHost = execFileSync(
      'ip',
      [
        'netns',
        'exec',
        alpha.netns!.ns,
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code} %{time_total}',
        st.s3.hostEndpoint!,
      ],
      { encoding: 'utf8' },
    ).split(' ');
    expect(fromHost[0]).toBe('200');
    expect(Number(fromHost[1])).toBeLessThan(0.028);

    const status = await coopctl(['--json', 'sandbox', 'status', '--dir', sb.dir]);
    const doc = json<{ link: string; processes: Array<{ what: string; running: boolean }> }>(status);
    expect(doc.link).toBe('home');
    expect(doc.processes.filter((p) => p.what.startsWith('link relay')).map((p) => p.running)).toEqual([true, true]);
    expect((await coopctl(['sandbox', 'status', '--dir', sb.dir])).stdout).toContain(
      'link home: 30 ms round trip, 20 Mbit/s towards the hosts, 100 Mbit/s back; store 1 ms, 1 Gbit/s',
    );

    // down removes the qdiscs, the relays and the namespaces (the store's too)
    const tag = alpha.netns!.outside.slice(0, 7);
    const relays = [path.join(sb.dir, 'links/operator-relay.pid'), path.join(sb.dir, 'links/store-relay.pid')].map(
      (f) => readPid(f)!,
    );
    expect(execFileSync('tc', ['qdisc', 'show'], { encoding: 'utf8' })).toContain(tag);
    expect((await coopctl(['sandbox', 'down', '--dir', sb.dir])).code).toBe(0);
    expect(relays.filter((p) => isRunning(p))).toEqual([]);
    expect(execFileSync('tc', ['qdisc', 'show'], { encoding: 'utf8' })).not.toContain(tag);
    expect(execFileSync('ip', ['link', 'show'], { encoding: 'utf8' })).not.toContain(tag);
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const n of [...st.hosts.map((h) => h.netns!.ns), store.ns]) expect(namespaces).not.toContain(n);

    // up again: the same link, shaped again
    const up = await coopctl(['sandbox', 'up', '--dir', sb.dir]);
    expect(up.code, up.stderr).toBe(0);
    expect((await measure(sb)).rttMs).toBeGreaterThanOrEqual(28);
    const other = await coopctl(['sandbox', 'up', '--dir', sb.dir, '--link', 'none']);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('was built with --link home');
  });

  it('--link none: not shaped (no relay, no qdisc)', async () => {
    const { sb, m } = await measuredSandbox('none');
    expect(m.rttMs).toBeLessThan(10);
    expect(m.mbitTowardsHost).toBeGreaterThan(60);
    const st = state(sb);
    expect(st.hosts.every((h) => h.relay === undefined)).toBe(true);
    for (const h of st.hosts)
      expect(execFileSync('tc', ['qdisc', 'show', 'dev', h.netns!.outside], { encoding: 'utf8' })).not.toContain('tbf');
    expect(json<{ link: string }>(await coopctl(['--json', 'sandbox', 'status', '--dir', sb.dir])).link).toBe('none');
  });
});
