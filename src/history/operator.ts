import { execFileSync } from 'node:child_process';
import { hostname, userInfo } from 'node:os';

/** Who is running coopctl, as other operators will see it in locks and history. */
interface Operator {
  name: string;
  from: string;
}

let cached: Operator | undefined;

export function currentOperator(env: NodeJS.ProcessEnv = process.env): Operator {
  if (cached && !env.COOPCTL_OPERATOR) return cached;
  let name = env.COOPCTL_OPERATOR?.trim();
  if (!name) {
    try {
      name = execFileSync('git', ['config', 'user.name'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 })
        .toString()
        .trim();
    } catch {
      // no git identity
    }
  }
  const op = { name: name || userInfo().username, from: `${userInfo().username}@${hostname()}` };
  if (!env.COOPCTL_OPERATOR) cached = op;
  return op;
}
