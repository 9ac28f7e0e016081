// source: https://docs.coopcloud.tech/operators/handbook/ (".env files use the same format as used by Docker
// (env_file: ... or --env-file) and direnv"); docs.coopcloud.tech commit 2813257e (TYPE=<recipe>:<version>)
/**
 * App env files (`$ABRA_DIR/servers/<server>/<domain>.env`): docker env-file
 * lines, plus what abra's dotenv reader accepts (quotes, `export`, inline
 * comments, `$VAR`/`${VAR}` referring to earlier keys).
 */
export function interpolate(text: string, vars: Readonly<Record<string, string | undefined>>): string {
  return text.replace(
    /\$\{(\w+)(?:(:?-)([^}]*))?\}|\$(\w+)/g,
    (_m, braced: string, op: string, def: string, bare: string) => {
      const name = braced ?? bare;
      const v = vars[name];
      if (op === ':-') return v ? v : def;
      if (op === '-') return v ?? def;
      return v ?? '';
    },
  );
}

export function parseEnv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/^export\s+/, '');
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.startsWith("'")) {
      value = value.slice(1, value.indexOf("'", 1) < 0 ? undefined : value.indexOf("'", 1));
    } else if (value.startsWith('"')) {
      const end = value.indexOf('"', 1);
      value = interpolate(value.slice(1, end < 0 ? undefined : end), vars);
    } else {
      value = interpolate(value.replace(/\s+#.*$/, ''), vars);
    }
    vars[key] = value;
  }
  return vars;
}

/** `TYPE=bonfire` or `TYPE=bonfire:2.0.1+1.0.6-social-amd64` (older files say RECIPE=). */
export function recipeOf(vars: Record<string, string>): { recipe?: string; version?: string } {
  const type = vars.TYPE ?? vars.RECIPE;
  if (!type) return {};
  const colon = type.indexOf(':');
  return colon < 0 ? { recipe: type } : { recipe: type.slice(0, colon), version: type.slice(colon + 1) || undefined };
}

// source: git.coopcloud.tech/toolshed/docs.coopcloud.tech commit 2813257e docs/operators/handbook.md
// ("Saving the version to the app .env file": deploy/upgrade/rollback write `TYPE=custom-html:1.7.1+1.27.2`)
/** Rewrites the TYPE line to `TYPE=<recipe>:<version>`, keeping every other line as it was. */
export function withTypeVersion(text: string, recipe: string, version: string): string {
  const line = `TYPE=${recipe}:${version}`;
  const lines = text.split('\n');
  const i = lines.findIndex((l) => /^\s*(export\s+)?(TYPE|RECIPE)\s*=/.test(l));
  if (i >= 0) lines[i] = line;
  else lines.unshift(line);
  return lines.join('\n');
}

/** Keys a `.env.sample` defines (uncommented lines only). */
export function definedKeys(text: string): string[] {
  return Object.keys(parseEnv(text));
}
