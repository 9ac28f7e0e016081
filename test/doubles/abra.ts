#!/usr/bin/env node
/**
 * The abra double: a stand-in for Co-op Cloud's `abra` CLI (which cannot be
 * installed here), faithful to the rules in reference/abra.md. State lives in
 * $ABRA_DIR (env files, real recipe git repos, double.json) and in each
 * server's swarm.json. Run as `node build/world/test/doubles/abra.js ...`.
 */
import { parseArgs, type FlagSpec, type ParsedArgs } from './abra/args.js';
import { appLsCommand } from './abra/commands/appLs.js';
import { backupCommand, restoreCommand } from './abra/commands/backup.js';
import { checkCommand } from './abra/commands/check.js';
import { recipeCommand } from './abra/commands/recipe.js';
import { releaseCommand } from './abra/commands/release.js';
import { Fatal, fatal } from './abra/fatal.js';
import { cobraHelp } from './abra/help.js';
import { out } from './abra/log.js';

// source: operators' notes (reference/production.md, C): `abra --version` → `abra version 0.13.0-beta-06a57de`
export const ABRA_VERSION_LINE = 'abra version 0.13.0-beta-06a57de';

// source: operators' notes (reference/production.md, C): `-c` skips converge checks; `app deploy -f/-C/-i`,
// `app upgrade|rollback DOMAIN [VERSION] -n` exist. The aliases (ls/l, upgrade/up, ...) are abra's Cobra aliases as
// the operators' notes list them (reference/abra.md); an alias the real abra lacks would fail there, not here (U).
const DEPLOY_FLAGS: FlagSpec[] = [
  { short: 'c', long: 'no-converge-checks' },
  { short: 'D', long: 'no-domain-checks' },
];

interface Command {
  names: string[];
  /** The arguments of the usage line of its --help. */
  use: string;
  flags: FlagSpec[];
  run: (args: ParsedArgs) => Promise<void>;
}

/** `abra app <sub>` and `abra recipe <sub>`; sub-subcommands (backup create) take their word from positionals. */
const APP: Command[] = [
  {
    names: ['ls', 'list', 'l'],
    use: '',
    flags: [
      { short: 'S', long: 'status' },
      { short: 'm', long: 'machine' },
      { short: 's', long: 'server', value: true },
      { short: 'r', long: 'recipe', value: true },
    ],
    run: appLsCommand,
  },
  {
    names: ['upgrade', 'up'],
    use: '<domain> [version]',
    flags: DEPLOY_FLAGS,
    run: (a) => releaseCommand('upgrade', a),
  },
  {
    names: ['rollback', 'rl'],
    use: '<domain> [version]',
    flags: DEPLOY_FLAGS,
    run: (a) => releaseCommand('rollback', a),
  },
  {
    names: ['deploy', 'd'],
    use: '<domain> [version]',
    flags: [
      ...DEPLOY_FLAGS,
      { short: 'f', long: 'force' },
      { short: 'C', long: 'chaos' },
      { short: 'i', long: 'ignore-env-version' },
    ],
    run: (a) => releaseCommand('deploy', a),
  },
  {
    names: ['backup', 'b'],
    use: '[command]',
    flags: [
      { short: 's', long: 'snapshot', value: true },
      { short: 'p', long: 'path', value: true },
    ],
    run: (a) => backupCommand(a.positionals[0], { ...a, positionals: a.positionals.slice(1) }),
  },
  {
    names: ['restore', 'rs'],
    use: '<domain>',
    flags: [{ short: 's', long: 'snapshot', value: true }],
    run: restoreCommand,
  },
  { names: ['check', 'chk'], use: '<domain>', flags: [], run: checkCommand },
];

const RECIPE: Command[] = [
  {
    names: ['versions', 'v', 'fetch', 'f'],
    use: '<recipe>',
    flags: [{ short: 'm', long: 'machine' }],
    run: (a) => recipeCommand(a.positionals[0], { ...a, positionals: a.positionals.slice(1) }),
  },
];

/** The help of commands whose last word the table above does not tell apart: each as its own cobra command. */
const SUBCOMMAND_HELP: Record<string, { aliases: string[]; use: string; flags: FlagSpec[] }> = {
  'app backup create': { aliases: ['c'], use: '<domain>', flags: [] },
  'app backup snapshots': { aliases: ['s'], use: '<domain>', flags: [] },
  'app backup ls': { aliases: ['l'], use: '<domain>', flags: [{ short: 's', long: 'snapshot', value: true }] },
  'app backup download': {
    aliases: ['d'],
    use: '<domain>',
    flags: [
      { short: 's', long: 'snapshot', value: true },
      { short: 'p', long: 'path', value: true },
    ],
  },
  'recipe versions': { aliases: ['v'], use: '<recipe>', flags: [{ short: 'm', long: 'machine' }] },
  'recipe fetch': { aliases: ['f'], use: '[recipe]', flags: [] },
};

/** `abra <group> <command> [<subcommand>] --help`; undefined for what has no help of its own here. */
function commandHelp(words: readonly string[]): string | undefined {
  const [group, sub, third] = words;
  const groupName = group === 'a' ? 'app' : group === 'r' ? 'recipe' : group;
  const table = groupName === 'app' ? APP : groupName === 'recipe' ? RECIPE : undefined;
  const cmd = table?.find((c) => c.names.includes(sub ?? ''));
  if (!cmd) return undefined;
  const name = groupName === 'recipe' ? (['v', 'versions'].includes(sub) ? 'versions' : 'fetch') : cmd.names[0];
  const nested =
    SUBCOMMAND_HELP[`${groupName} ${name} ${third ?? ''}`.trim()] ?? SUBCOMMAND_HELP[`${groupName} ${name}`];
  if (nested) {
    const path = [groupName, name, ...(nested === SUBCOMMAND_HELP[`${groupName} ${name}`] ? [] : [third])];
    return cobraHelp(path, nested.use, nested.aliases, nested.flags);
  }
  return cobraHelp([groupName, name], cmd.use, cmd.names.slice(1), cmd.flags);
}

const USAGE = `abra (double) — Co-op Cloud command-line utility stand-in

Usage:
  abra app ls [-S] [-m] [-s SERVER] [-r RECIPE]
  abra app deploy DOMAIN [VERSION] [-n] [-f] [-C] [-c] [-i]
  abra app upgrade DOMAIN [VERSION] [-n] [-c]
  abra app rollback DOMAIN [VERSION] [-n] [-c]
  abra app backup create|snapshots DOMAIN [-n]
  abra app backup ls DOMAIN [-s SNAPSHOT] [-n]
  abra app backup download DOMAIN -s SNAPSHOT -p PATH [-n]
  abra app restore DOMAIN [-s SNAPSHOT] [-n]
  abra app check DOMAIN
  abra recipe versions RECIPE [-m]
  abra recipe fetch RECIPE
  abra --version`;

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const words = argv.filter((a) => !a.startsWith('-'));
    if (argv.includes('--version') || argv.includes('-v') || words[0] === 'version') {
      out(ABRA_VERSION_LINE);
      return 0;
    }
    const [group, sub] = words;
    if (!group || argv.includes('-h') || argv.includes('--help')) {
      out(commandHelp(words) ?? USAGE);
      return 0;
    }
    const table =
      group === 'app' || group === 'a'
        ? APP
        : group === 'recipe' || group === 'r'
          ? RECIPE
          : fatal(`unknown command "${group}" for "abra"`);
    const cmd =
      table.find((c) => c.names.includes(sub ?? '')) ?? fatal(`unknown command "${sub ?? ''}" for "abra ${group}"`);
    // drop the group and subcommand words; the recipe table keeps its own subcommand as the first positional
    const rest = [...argv];
    rest.splice(rest.indexOf(group), 1);
    if (table === APP) rest.splice(rest.indexOf(sub!), 1);
    await cmd.run(parseArgs(rest, cmd.flags));
    return 0;
  } catch (err) {
    const message = err instanceof Fatal ? err.message : `${(err as Error).message ?? err}`;
    // source: operators' notes (reference/production.md, C for the text): errors are one `FATA ...` line, exit 1
    process.stderr.write(`FATA ${message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
