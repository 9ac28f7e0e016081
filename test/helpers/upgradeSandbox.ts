import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { parseDocument } from 'yaml';
import { foldRecord, type HistoryRecord } from '../../src/history/records.js';
import { compose } from '../../src/remote/compose.js';
import { inNetns } from '../world/netns.js';
import type { SandboxState } from '../world/state.js';
import { BIN, REPO } from './cli.js';
import { webGet } from './mastodonHost.js';
import { startSandbox, type TestSandbox } from './sandbox.js';
import { TmuxSession } from './tmux.js';

/**
 * What an upgrade test looks at on a sandbox Mastodon host, from the outside:
 * the files under DIR/hosts/<env>/, its PostgreSQL, its web API — never
 * through coopctl, so the tests see what really happened.
 */
export class SandboxMastodon {
  constructor(
    readonly sb: TestSandbox,
    readonly env: string,
  ) {}

  get root(): string {
    return path.join(this.sb.dir, 'hosts', this.env);
  }

  /** The coopctl state dir of mastodon/<env> on the host (lock, history, logs). */
  get stateDir(): string {
    return path.join(this.root, 'var', 'lib', 'coopctl', 'mastodon', this.env);
  }

  get lockDir(): string {
    return path.join(this.stateDir, 'lock');
  }

  lockInfo(): Record<string, unknown> | undefined {
    const f = path.join(this.lockDir, 'info.json');
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>) : undefined;
  }

  /** Every history record on the host, folded from its JSON-lines file (no `interrupted` marking: that is the reader's job). */
  records(): HistoryRecord[] {
    const dir = path.join(this.stateDir, 'history');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort()
      .flatMap((f) => {
        const events = readFileSync(path.join(dir, f), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l));
        return foldRecord(f.replace(/\.jsonl$/, ''), events) ?? [];
      });
  }

  record(id: string): HistoryRecord {
    const r = this.records().find((x) => x.id === id);
    if (!r)
      throw new Error(
        `no history record ${id} on ${this.env}: ${this.records()
          .map((x) => x.id)
          .join(', ')}`,
      );
    return r;
  }

  psql(sql: string, db = 'mastodon_production'): string {
    return execFileSync('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql], {
      env: { ...process.env, PGHOST: path.join(this.root, 'pg', 'run'), PGUSER: 'postgres' },
      encoding: 'utf8',
    }).trim();
  }

  rowCounts(): { accounts: number; statuses: number } {
    const [accounts, statuses] = this.psql(
      "select (select count(*) from accounts) || ' ' || (select count(*) from statuses)",
    )
      .split(' ')
      .map(Number);
    return { accounts, statuses };
  }

  migrations(): string[] {
    return this.psql('select version from schema_migrations order by version').split('\n').filter(Boolean);
  }

  /** The public URL: the host's nginx, which caches the instance API (health.url of the sandbox config). */
  get publicUrl(): string {
    const doc = parseDocument(readFileSync(this.sb.config, 'utf8'));
    return String(doc.getIn(['services', 'mastodon', 'environments', this.env, 'health', 'url']));
  }

  /** The web process on the host, behind nginx (what runs, never a cached copy). */
  get webUrl(): string {
    return `http://${this.web.address}:${this.web.port}`;
  }

  /** The web process's address on the host. */
  get web(): { address: string; port: number } {
    const state = JSON.parse(readFileSync(path.join(this.sb.dir, 'sandbox.json'), 'utf8')) as SandboxState;
    const web = state.hosts.find((h) => h.name === this.env)?.web;
    if (!web) throw new Error(`no Mastodon web on ${this.env} in the sandbox state`);
    return web;
  }

  /** What /api/v2/instance says on the web process, asked as the instance's nginx asks. */
  async instance(): Promise<{ version: string; configuration: { statuses: { max_characters: number } } }> {
    const r = await webGet(this.root, this.web, '/api/v2/instance');
    if (r.status !== 200) throw new Error(`${this.env}: /api/v2/instance answered HTTP ${r.status}`);
    return JSON.parse(r.body);
  }

  /** The version the web process reports, and whether its /health answers 200. */
  async running(): Promise<{ version: string; healthy: boolean }> {
    const { version } = await this.instance();
    const health = await webGet(this.root, this.web, '/health');
    return { version, healthy: health.status === 200 };
  }

  /** The compose services of the app (web, streaming, sidekiq) stopped on the host, as after a crash. */
  stopApp(): void {
    const state = JSON.parse(readFileSync(path.join(this.sb.dir, 'sandbox.json'), 'utf8')) as SandboxState;
    const ns = state.hosts.find((h) => h.name === this.env)?.netns?.ns;
    const stop = compose(path.join(this.root, 'opt', 'social.coop'), 'stop', 'web', 'streaming', 'sidekiq');
    const [cmd, ...args] = inNetns(ns, stop);
    execFileSync(cmd, args, {
      stdio: 'pipe',
      env: {
        ...process.env,
        PATH: `${path.join(this.root, 'bin')}:${process.env.PATH}`,
        COOPCTL_SANDBOX_ROOT: this.root,
      },
    });
  }

  /** Backup ids in the sandbox's local backup store for this environment. */
  backups(): string[] {
    const dir = path.join(this.sb.dir, 'backups', 'mastodon', this.env);
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  }

  /** Everything an upgrade would change on the host, as comparable text. */
  footprint(): Record<string, unknown> {
    const hash = (f: string) => (existsSync(f) ? createHash('sha256').update(readFileSync(f)).digest('hex') : null);
    const list = (d: string): string[] => (existsSync(d) ? readdirSync(d, { recursive: true }).map(String).sort() : []);
    return {
      compose: hash(path.join(this.root, 'opt', 'social.coop', 'docker-compose.yml')),
      env: hash(path.join(this.root, 'opt', 'social.coop', '.env.production')),
      containers: hash(path.join(this.root, 'var', 'lib', 'docker-standin', 'containers.json')),
      images: list(path.join(this.root, 'images')),
      stateDir: list(this.stateDir),
      migrations: this.migrations(),
      rows: this.rowCounts(),
      backups: this.backups(),
    };
  }
}

/** Lowers the verification timeout of the sandbox's Mastodon environments (a failing check then fails fast). */
export function setHealthTimeout(sb: TestSandbox, timeout: string): void {
  const doc = parseDocument(readFileSync(sb.config, 'utf8'));
  for (const env of ['alpha', 'prod'])
    doc.setIn(['services', 'mastodon', 'environments', env, 'health', 'timeout'], timeout);
  writeFileSync(sb.config, doc.toString());
}

/** A sandbox for one test file, its verification failing fast: started before the file's tests, stopped after. */
export function useMastodonSandbox(): { sb: TestSandbox; alpha: SandboxMastodon } {
  const world = {} as { sb: TestSandbox; alpha: SandboxMastodon };
  beforeAll(async () => {
    world.sb = await startSandbox();
    setHealthTimeout(world.sb, '6s');
    world.alpha = new SandboxMastodon(world.sb, 'alpha');
  });
  afterAll(() => world.sb?.down());
  return world;
}

/** What `--json` prints at the end of a change (upgrade, promote, rollback, restore). */
export interface ChangeDoc {
  ok: boolean;
  state: string;
  record: {
    id: string;
    operation: string;
    status: string;
    from: string;
    to: string;
    backupId: string | null;
    promotedFrom: string | null;
    details: Record<string, unknown>;
  };
}

/**
 * `coopctl --json upgrade mastodon --env ENV --to VERSION` with the host's `health-fails` fault standing
 * for a broken VERSION: the fault makes every version unhealthy until cleared, so it is cleared once
 * coopctl has given up on VERSION and starts restoring. Resolves with the finished CLI run.
 */
export function upgradeToBrokenRelease(host: SandboxMastodon, to: string) {
  const args = ['--json', 'upgrade', 'mastodon', '--env', host.env, '--to', to, '--yes', '--no-check'];
  return changeWhileUnhealthy(host, args, (r) => r.to === to);
}

/**
 * A change (`args`) run while the host's `health-fails` fault (or `fault`) is on, cleared once coopctl has given up
 * on the new version and starts restoring (a new record matching `which` notes its failure). Resolves with the
 * finished run.
 */
export async function changeWhileUnhealthy(
  host: SandboxMastodon,
  args: string[],
  which: (r: HistoryRecord) => boolean = () => true,
  fault: 'health-fails' | 'federation-fails' = 'health-fails',
) {
  const earlier = new Set(host.records().map((r) => r.id));
  await host.sb.fault(host.env, fault);
  const run = startCli(host.sb, args);
  try {
    await waitFor(
      'the recovery to start',
      () => host.records().find((x) => !earlier.has(x.id) && which(x) && x.details.failure !== undefined),
      90_000,
    );
  } finally {
    await host.sb.fault('--clear', host.env);
  }
  return run;
}

/** The CLI started in the background (no TTY, CI set), to signal it or run another one alongside. */
export function startCli(
  sb: TestSandbox,
  args: string[],
  env: Record<string, string> = {},
  opts: { timeoutMs?: number } = {},
) {
  return execa(process.execPath, [BIN, '-c', sb.config, ...args], {
    cwd: REPO,
    env: { CI: 'true', NO_COLOR: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...sb.env, ...env },
    reject: false,
    timeout: opts.timeoutMs ?? 180_000,
    stdin: 'ignore',
  });
}

/** The CLI at a terminal (tmux), as an operator runs it: CI unset, so it asks. `env`: XDG_STATE_HOME and others. */
export function operatorTerminal(
  sb: TestSandbox,
  args: string[],
  env: Record<string, string>,
  config = sb.config,
): Promise<TmuxSession> {
  return TmuxSession.start(
    [
      'env',
      '-u',
      'CI',
      'NO_COLOR=1',
      ...Object.entries({ ...sb.env, ...env }).map(([k, v]) => `${k}=${v}`),
      process.execPath,
      BIN,
      '-c',
      config,
      ...args,
    ],
    { cwd: REPO, width: 220 },
  );
}

/** What a background run has written to stderr so far (its progress lines, without --json). */
export function stderrSoFar(run: ReturnType<typeof startCli>): () => string {
  let text = '';
  run.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return () => text;
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The Ansible events coopctl's playbook run writes (JSON lines next to its log), of the apply run, not the --check preview. */
export function applyEvents(stateHome: string): Array<Record<string, unknown>> {
  const dir = path.join(stateHome, 'coopctl', 'logs');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.events.jsonl') && !f.endsWith('.check.events.jsonl'))
    .flatMap((f) =>
      readFileSync(path.join(dir, f), 'utf8')
        .split('\n')
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return []; // a line still being written
          }
        }),
    );
}

/** A process and all its descendants (found through /proc), parents first. */
export function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++)
    for (const [child, parent] of parentOf) if (parent === tree[i]) tree.push(child);
  return tree.filter((p) => p === pid || parentOf.has(p));
}

export function signalTree(pids: number[], signal: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGKILLs a process and all its descendants, frozen first so that none forks away meanwhile. */
export function killTree(pid: number): void {
  let tree = processTree(pid);
  for (;;) {
    signalTree(tree, 'SIGSTOP');
    const now = processTree(pid);
    if (now.every((p) => tree.includes(p))) break;
    tree = now;
  }
  signalTree(tree, 'SIGKILL');
}
