/** docker CLI arguments and tables, shared by the sandbox's docker stand-ins (compose hosts, the swarm server). */
export class UsageError extends Error {}

export interface Parsed {
  flags: Map<string, string[]>;
  positionals: string[];
}

/**
 * `-it` as `-i -t`: shorthand booleans group, the last one may take a value.
 * source: spf13/pflag flag.go (parseShortArg walks each shorthand of `-abc`), the flag parser of docker/cli.
 */
function groupedShorts(a: string, bools: string[], values: string[]): string[] | undefined {
  if (a.startsWith('--') || a.length <= 2 || bools.includes(a) || values.includes(a)) return undefined;
  const shorts = [...a.slice(1)].map((c) => `-${c}`);
  const ok = shorts.every((s, k) => bools.includes(s) || (k === shorts.length - 1 && values.includes(s)));
  return ok ? shorts : undefined;
}

/** Flags before (and, unless `stopAtCommand`, between) positionals; `--` or the first positional of run/exec ends them. */
export function parseArgs(args: string[], bools: string[], values: string[], stopAtCommand = false): Parsed {
  const flags = new Map<string, string[]>();
  const positionals: string[] = [];
  const add = (k: string, v: string) => flags.set(k, [...(flags.get(k) ?? []), v]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      if (stopAtCommand) {
        positionals.push(...args.slice(i + 1));
        break;
      }
      continue;
    }
    const grouped = groupedShorts(a, bools, values);
    if (grouped) {
      for (const s of grouped.slice(0, -1)) add(s, 'true');
      const last = grouped[grouped.length - 1];
      if (values.includes(last)) {
        const v = args[++i];
        if (v === undefined) throw new UsageError(`flag needs an argument: ${last}`);
        add(last, v);
      } else add(last, 'true');
      continue;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (values.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new UsageError(`flag needs an argument: ${name}`);
      add(name, v);
    } else if (bools.includes(name)) add(name, 'true');
    else throw new UsageError(`unknown flag: ${name}`);
  }
  return { flags, positionals };
}

export const has = (p: Parsed, ...names: string[]) => names.some((n) => p.flags.has(n));

/**
 * `-e K=V` / `-e K` (value from our environment), as compose reads them.
 * source: https://docs.docker.com/reference/cli/docker/container/run/#env ("If the variable isn't exported in
 * your local environment, the variable isn't set in the container"): `-e K` with K unset sets nothing.
 */
export function envFlags(p: Parsed): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of [...(p.flags.get('-e') ?? []), ...(p.flags.get('--env') ?? [])]) {
    const eq = e.indexOf('=');
    if (eq < 0) {
      if (process.env[e] !== undefined) env[e] = process.env[e];
    } else env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return env;
}

// source: docker/cli cli/command/formatter/formatter.go (tabwriter.NewWriter(output, 10, 1, 3, ' ', 0))
/** docker's tables (Go's tabwriter, padding 3): each column as wide as its widest cell, the last one unpadded. */
export function tabulate(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) =>
    row
      .map((c, i) => c.padEnd(widths[i]))
      .join('   ')
      .trimEnd(),
  );
}
