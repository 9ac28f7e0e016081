import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** Where abra keeps an app's env file: `$ABRA_DIR/servers/<server>/<domain>.env`, on the operator's machine. */
export function appEnvPath(abraDir: string, server: string, domain: string): string {
  return path.join(abraDir, 'servers', server, `${domain}.env`);
}

/** The settings of a docker env file (KEY=value; quotes removed; comments and blank lines skipped). */
export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!m) continue;
    let v = m[2].trim();
    const q = /^(["'])(.*)\1/.exec(v);
    v = q ? q[2] : v.replace(/\s+#.*$/, '');
    vars[m[1]] = v;
  }
  return vars;
}

export async function readAppEnv(abraDir: string, server: string, domain: string): Promise<Record<string, string>> {
  return parseEnvFile(await readFile(appEnvPath(abraDir, server, domain), 'utf8'));
}
