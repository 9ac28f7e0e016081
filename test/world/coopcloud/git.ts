import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

// source: none needed — fixture plumbing (a fixed git identity so recipe tags are deterministic)
/** git for building sandbox fixtures: no user or system config, fixed identity, dates chosen by the caller. */
export async function git(cwd: string, args: readonly string[], date?: string): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Co-op Cloud recipe maintainers',
    GIT_AUTHOR_EMAIL: 'helo@coopcloud.tech',
    GIT_COMMITTER_NAME: 'Co-op Cloud recipe maintainers',
    GIT_COMMITTER_EMAIL: 'helo@coopcloud.tech',
  };
  if (date) {
    env.GIT_AUTHOR_DATE = date;
    env.GIT_COMMITTER_DATE = date;
  }
  const { stdout } = await run('git', [...args], { cwd, env, encoding: 'utf8' });
  return stdout;
}

// source: https://docs.coopcloud.tech/operators/handbook/ ("Backing up ~/.abra": version-control
// ~/.abra/servers with git, so that operators collaborating share the app configs); reference/production.md (C:
// social.coop's servers directory is such a shared repository)
/** Makes `dir` a git repository whose upstream is the bare repository `upstream` (the operators' shared remote). */
export async function shareDirectory(dir: string, upstream: string, message: string): Promise<void> {
  await git(path.dirname(upstream), ['init', '-q', '--bare', '-b', 'main', upstream]);
  await git(dir, ['init', '-q', '-b', 'main']);
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '-m', message]);
  await git(dir, ['remote', 'add', 'origin', upstream]);
  await git(dir, ['push', '-q', '-u', 'origin', 'main']);
}
