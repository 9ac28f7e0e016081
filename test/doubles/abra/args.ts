import { fatal } from './fatal.js';

export interface FlagSpec {
  short?: string;
  long: string;
  value?: boolean;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

/** Flags every abra command accepts (cobra persistent flags). */
// source: operators' notes (reference/abra.md, C): -n/--no-input, -d/--debug, -o/--offline on every command
export const GLOBAL_FLAGS: FlagSpec[] = [
  { short: 'n', long: 'no-input' },
  { short: 'd', long: 'debug' },
  { short: 'o', long: 'offline' },
  { short: 'h', long: 'help' },
];

// source: spf13/pflag flag.go (parseShortArg: `unknown shorthand flag: %q in -%s`; parseLongArg:
// `unknown flag: --%s`; `flag needs an argument`): abra parses its flags with Cobra/pflag (reference/abra.md)
/** Cobra-style parsing: flags anywhere, `--long[=v]`, grouped short booleans (`-nf`), `-s ID` or `-sID`. */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const all = [...GLOBAL_FLAGS, ...specs];
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
      const spec = all.find((s) => s.long === name) ?? fatal(`unknown flag: --${name}`);
      if (spec.value) {
        const v = inline ?? argv[++i];
        if (v === undefined) fatal(`flag needs an argument: --${name}`);
        flags.set(spec.long, v);
      } else flags.set(spec.long, true);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const spec = all.find((s) => s.short === a[j]) ?? fatal(`unknown shorthand flag: '${a[j]}' in ${a}`);
        if (spec.value) {
          const v = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
          if (v === undefined) fatal(`flag needs an argument: '${a[j]}' in ${a}`);
          flags.set(spec.long, v);
          break;
        }
        flags.set(spec.long, true);
      }
      continue;
    }
    positionals.push(a);
  }
  return { positionals, flags };
}

export function flag(args: ParsedArgs, long: string): boolean {
  return args.flags.get(long) === true;
}

export function flagValue(args: ParsedArgs, long: string): string | undefined {
  const v = args.flags.get(long);
  return typeof v === 'string' ? v : undefined;
}
