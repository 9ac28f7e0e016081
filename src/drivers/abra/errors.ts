import { OperationError } from '../../kernel/errors.js';

/** What an abra `FATA` line was about, so callers can react without matching text themselves. */
type AbraFailureKind =
  | 'unreachable'
  | 'converge-timeout'
  | 'already-deployed'
  | 'dirty-recipe'
  | 'no-backup-config'
  | 'version-refused'
  | 'not-found'
  | 'refused-prompt'
  | 'other';

const KINDS: ReadonlyArray<[RegExp, AbraFailureKind]> = [
  [/unable to connect/i, 'unreachable'],
  [/deploy failed|failed to converge|timed out waiting/i, 'converge-timeout'],
  [/is already deployed/i, 'already-deployed'],
  [/has locally unstaged changes/i, 'dirty-recipe'],
  [/no backup configs discovered/i, 'no-backup-config'],
  [
    /is not an upgrade|is not a downgrade|not a known version|cannot (upgrade|rollback|downgrade) to/i,
    'version-refused',
  ],
  [/cannot find app|does not exist|not found/i, 'not-found'],
  [/refusing to prompt|no-input/i, 'refused-prompt'],
];

export function classifyFatal(text: string): AbraFailureKind {
  return KINDS.find(([re]) => re.test(text))?.[1] ?? 'other';
}

/** abra exited non-zero; `fatal` holds its FATA text (or the tail of stderr when it printed none). */
export class AbraError extends OperationError {
  readonly kind: AbraFailureKind;
  constructor(
    /** The abra subcommand, e.g. "app upgrade bonfire.social.coop". */
    readonly command: string,
    readonly fatal: string,
    readonly toolExitCode: number,
    readonly output: { stdout: string; stderr: string },
  ) {
    const kind = classifyFatal(fatal);
    super(`abra ${command}: ${fatal}`, {
      code: kind === 'unreachable' ? 'remote' : `abra-${kind}`,
      details: { tool: 'abra', command, kind, toolExitCode },
    });
    this.kind = kind;
  }
}
