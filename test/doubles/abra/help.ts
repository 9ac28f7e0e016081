import { type FlagSpec, GLOBAL_FLAGS } from './args.js';

/**
 * `abra <command> --help`, laid out as cobra prints it: abra is a cobra program (reference/abra.md).
 * source: the layout is cobra's defaultUsageTemplate (spf13/cobra command.go:1942-1970: "Usage:", "Aliases:",
 * "Flags:", "Global Flags:"), each flag a pflag line `  -c, --long type   usage` aligned as FlagUsagesWrapped
 * does (spf13/pflag flag.go:767-830), on stdout (cobra's HelpFunc writes help to stdout).
 *
 * No recorded `abra ... --help` output was found (searched the pages, code and issues corpora for abra's help text
 * and its flag names; abra's own source at git.coopcloud.tech is not searchable). So the harsher reading: a command
 * lists only the flags the double accepts, which are those docs.coopcloud.tech and reference/abra.md document
 * (-C/--chaos and -i/--ignore-env-version: toolshed/docs.coopcloud.tech commit 2813257e30,
 * docs/operators/handbook.md), and coopctl doctor says so when one coopctl passes is not listed. The one-line
 * descriptions are not abra's words.
 */
const DESCRIPTIONS: Record<string, string> = {
  'no-input': 'toggle non-interactive mode',
  debug: 'show debug messages',
  offline: 'prefer offline & filesystem access',
  help: 'help for this command',
  status: 'show app deployment status',
  machine: 'print machine-readable output',
  server: 'show apps of a specific server',
  recipe: 'show apps of a specific recipe',
  'no-converge-checks': 'disable converge logic checks',
  'no-domain-checks': 'disable public DNS checks',
  force: 'perform action without further prompt',
  chaos: 'ignore uncommitted recipes changes',
  'ignore-env-version': 'ignore .env version checkout',
  snapshot: 'snapshot to use',
  path: 'path to download',
};

/** Sorted by name, as pflag's VisitAll visits them (SortFlags is on by default). */
function flagLines(unsorted: readonly FlagSpec[]): string[] {
  const flags = [...unsorted].sort((a, b) => a.long.localeCompare(b.long));
  const heads = flags.map(
    (f) => `${f.short ? `  -${f.short}, --${f.long}` : `      --${f.long}`}${f.value ? ' string' : ''}`,
  );
  const width = Math.max(...heads.map((h) => h.length));
  // pflag: Fprintln(line[:sidx], spacing, usage) with spacing up to the widest flag and its \x00 mark: the usage
  // starts three columns after the widest
  return heads.map((h, i) => `${h}${' '.repeat(width - h.length + 3)}${DESCRIPTIONS[flags[i].long] ?? ''}`.trimEnd());
}

export function cobraHelp(path: readonly string[], use: string, aliases: readonly string[], flags: FlagSpec[]): string {
  const name = path.at(-1)!;
  const local = [...flags, { short: 'h', long: 'help' }];
  const global = GLOBAL_FLAGS.filter((g) => g.long !== 'help');
  return [
    `abra ${path.join(' ')}`,
    '',
    'Usage:',
    `  abra ${path.join(' ')} ${use} [flags]`.replace(/ {2,}\[/, ' ['),
    ...(aliases.length ? ['', 'Aliases:', `  ${[name, ...aliases].join(', ')}`] : []),
    '',
    'Flags:',
    ...flagLines(local),
    '',
    'Global Flags:',
    ...flagLines(global),
  ].join('\n');
}
