import { homedir } from 'node:os';
import path from 'node:path';
import { privateDir } from './files.js';

/** $XDG_STATE_HOME/coopctl: what coopctl keeps on this machine between runs. */
export function localStateDir(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state'), 'coopctl');
}

/** Local log of one operation: $XDG_STATE_HOME/coopctl/logs/<service>-<env>-<op>-<time>.log */
export function operationLogFile(
  env: NodeJS.ProcessEnv,
  service: string,
  envName: string,
  op: string,
  now = new Date(),
): string {
  const dir = path.join(privateDir(localStateDir(env)), 'logs');
  privateDir(dir);
  return path.join(dir, `${service}-${envName}-${op}-${now.toISOString().replace(/[:.]/g, '-')}.log`);
}
