import { execFile } from 'node:child_process';
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
