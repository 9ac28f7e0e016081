/**
 * What coopctl needs from a recipe's compose file, read as text (abra interpolates it with the app's env; only
 * these two label shapes matter here, in both the list and the map form of compose labels).
 */

/** `coop-cloud.${STACK_NAME}.timeout=${TIMEOUT:-300}`: seconds abra waits for a deploy to converge. */
export function convergeTimeoutSeconds(compose: string, env: Record<string, string>): number | undefined {
  const m = /coop-cloud\.\$\{STACK_NAME\}\.timeout["']?\s*[=:]\s*["']?(\$\{TIMEOUT:-(\d+)\}|\d+)/.exec(compose);
  if (!m) return undefined;
  const fromEnv = m[2] !== undefined ? Number(env.TIMEOUT) : Number.NaN;
  const seconds = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Number(m[2] ?? m[1]);
  return Number.isInteger(seconds) && seconds > 0 ? seconds : undefined;
}

/** The files backupbot backs up instead of whole volumes (`backupbot.backup.volumes.<vol>.path: "backup.sql"`). */
export function backupDumpFiles(compose: string): string[] {
  const files = new Set<string>();
  for (const m of compose.matchAll(/backupbot\.backup\.volumes\.[\w-]+\.path["']?\s*[=:]\s*["']?([^"'\s]+)/g))
    files.add(m[1]);
  return [...files];
}
