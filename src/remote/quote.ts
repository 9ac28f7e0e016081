/**
 * SSH hands the remote side one string for its shell. Argument arrays are
 * turned into that string here and only here, by quoting every word.
 */
export function quoteArg(arg: string): string {
  if (arg === '') return "''";
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty command');
  return argv.map(quoteArg).join(' ');
}

/** A shell command line built only from quoted argument arrays. */
export class ShellLine {
  private constructor(readonly text: string) {}

  static argv(argv: readonly string[]): ShellLine {
    return new ShellLine(quoteArgv(argv));
  }

  /** a | b | c, with `set -o pipefail` so a failure anywhere fails the line. */
  static pipeline(...stages: readonly (readonly string[])[]): ShellLine {
    return new ShellLine(`set -o pipefail 2>/dev/null; ${stages.map(quoteArgv).join(' | ')}`);
  }

  /** argv > file (atomic writes are built from this plus mv). */
  static redirect(argv: readonly string[], file: string, append = false): ShellLine {
    return new ShellLine(`${quoteArgv(argv)} ${append ? '>>' : '>'} ${quoteArg(file)}`);
  }

  /** a && b && c */
  static and(...lines: ShellLine[]): ShellLine {
    return new ShellLine(lines.map((l) => `{ ${l.text}; }`).join(' && '));
  }

  /** Runs under bash: pipefail needs it where /bin/sh is dash. */
  bash(): ShellLine {
    return new ShellLine(`bash -c ${quoteArg(this.text)}`);
  }
}

export type RemoteCommand = readonly string[] | ShellLine;

export function toShell(cmd: RemoteCommand): string {
  return cmd instanceof ShellLine ? cmd.text : quoteArgv(cmd);
}
