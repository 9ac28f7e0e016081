import path from 'node:path';
import { currentOperator } from '../../history/operator.js';
import { errorMessage } from '../../kernel/errors.js';
import type { Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';
import { abraClient, abraConfig } from './app.js';

/**
 * abra's `servers/<server>` directory as social.coop keeps it: a git repository the operators share (abra's
 * handbook recommends it, and abra never commits: https://docs.coopcloud.tech/operators/handbook/). abra pins the
 * deployed version in the app's env file (`TYPE=recipe:version`); a pin that is not committed and pushed is one the
 * next operator's bare `abra app deploy` silently goes back from. Builders return argument arrays.
 */
const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' };

export function serversDir(context: RunContext, t: Target): string {
  return path.join(abraClient(context).cli.abraDir, 'servers', abraConfig(t).server);
}

function git(dir: string, args: readonly string[]): string[] {
  return ['-C', dir, ...args];
}

const serversGit = {
  top: (dir: string) => git(dir, ['rev-parse', '--show-toplevel']),
  status: (dir: string) => git(dir, ['status', '--porcelain', '--', '.']),
  upstream: (dir: string) => git(dir, ['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{upstream}']),
  fetch: (dir: string) => git(dir, ['fetch', '--quiet']),
  behind: (dir: string) => git(dir, ['rev-list', '--count', 'HEAD..@{upstream}']),
  identity: (dir: string) => git(dir, ['config', 'user.email']),
  add: (dir: string, file: string) => git(dir, ['add', '--', file]),
  changed: (dir: string, file: string) => git(dir, ['diff', '--cached', '--quiet', '--', file]),
  commit: (dir: string, file: string, message: string, who?: { name: string; email: string }) => [
    ...(who ? ['-c', `user.name=${who.name}`, '-c', `user.email=${who.email}`] : []),
    ...git(dir, ['commit', '--quiet', '-m', message, '--', file]),
    // the env file only: another operator's uncommitted work in the directory stays theirs
  ],
  head: (dir: string) => git(dir, ['rev-parse', '--short=12', 'HEAD']),
  push: (dir: string) => git(dir, ['push', '--quiet']),
};

interface ServersRepoState {
  /** undefined: not in a git repository. */
  top?: string;
  /** `git status --porcelain` lines (file names only: never their content). */
  changes: string[];
  upstream?: string;
  /** Commits of the upstream not pulled; undefined when it cannot be told. */
  behind?: number;
  /** Why the upstream could not be fetched (offline): `behind` is then as of the last fetch. */
  fetchError?: string;
}

/** Where the servers repository stands; fetching the upstream is bounded and optional (it needs the network). */
export async function serversRepoState(context: RunContext, dir: string, fetchMs = 15_000): Promise<ServersRepoState> {
  const run = (args: string[], timeoutMs = 30_000) =>
    context.runner.run('git', args, { mutates: false, reject: false, timeoutMs, env: GIT_ENV });
  const top = await run(serversGit.top(dir));
  if (top.exitCode !== 0) return { changes: [] };
  const status = await run(serversGit.status(dir));
  const changes = status.stdout.split('\n').filter((l) => l.trim());
  const upstream = await run(serversGit.upstream(dir));
  if (upstream.exitCode !== 0) return { top: top.stdout.trim(), changes };
  const fetched = await run(serversGit.fetch(dir), fetchMs).catch((err: unknown) => ({
    exitCode: -1,
    stderr: errorMessage(err),
  }));
  const behind = await run(serversGit.behind(dir));
  const count = Number(behind.stdout.trim());
  return {
    top: top.stdout.trim(),
    changes,
    upstream: upstream.stdout.trim(),
    behind: behind.exitCode === 0 && Number.isInteger(count) ? count : undefined,
    fetchError: fetched.exitCode === 0 ? undefined : fetched.stderr.trim().split('\n')[0] || 'git fetch failed',
  };
}

interface PinCommit {
  commit?: string;
  pushed?: boolean;
  /** Why nothing was committed or pushed. */
  skipped?: string;
  error?: string;
}

/** Commits the app's env file (the pin abra wrote) with the record id in the message; pushes when told to. */
export async function commitPin(context: RunContext, t: Target, message: string): Promise<PinCommit> {
  const dir = serversDir(context, t);
  const file = `${abraConfig(t).domain}.env`;
  const run = (args: string[], mutates: boolean) =>
    context.runner.run('git', args, { mutates, reject: false, timeoutMs: 60_000, env: GIT_ENV });
  if ((await run(serversGit.top(dir), false)).exitCode !== 0) return { skipped: `${dir} is not a git repository` };
  const added = await run(serversGit.add(dir, file), true);
  if (added.skipped) return { skipped: '--dry-run' };
  if (added.exitCode !== 0) return { error: `git add ${file}: ${added.stderr.trim()}` };
  if ((await run(serversGit.changed(dir, file), false)).exitCode === 0) return { skipped: `${file} did not change` };
  // without an identity of their own, the operator's name as coopctl records it
  const own = (await run(serversGit.identity(dir), false)).stdout.trim();
  const op = currentOperator();
  const who = own ? undefined : { name: op.name, email: `${op.from.replace(/[^\w.@-]/g, '_')}.invalid` };
  const c = await run(serversGit.commit(dir, file, message, who), true);
  if (c.exitCode !== 0) return { error: `git commit ${file}: ${(c.stderr || c.stdout).trim()}` };
  const commit = (await run(serversGit.head(dir), false)).stdout.trim();
  if (!context.config.abra.push) return { commit, pushed: false };
  const p = await run(serversGit.push(dir), true);
  if (p.exitCode !== 0) return { commit, pushed: false, error: `git push: ${p.stderr.trim().split('\n')[0]}` };
  return { commit, pushed: true };
}
