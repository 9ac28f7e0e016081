import path from 'node:path/posix';
import { assertName } from '../kernel/validate.js';

/** <stateDir>/<service>/<env>: where a service × environment keeps its lock and history on its host. */
export function stateDirFor(stateDir: string, service: string, env: string): string {
  return path.join(stateDir, assertName(service, 'service'), assertName(env, 'environment'));
}
