import type { RunResult } from '../kernel/process.js';
import { CoopctlError, ExitCode } from '../kernel/errors.js';
import type { Become } from '../config/inventory.js';
import { ShellLine, type RemoteCommand } from './quote.js';

/**
 * The one place a command gets `sudo` in front, for a host reached as an
 * ordinary user: an argument array stays one (`sudo -n -u USER -- argv...`),
 * a shell line runs whole under `bash -c`, so its pipes and redirections run
 * with the same rights. `-n`: sudo never asks for a password, it fails.
 */
export function withBecome(cmd: RemoteCommand, become: Become | undefined): RemoteCommand {
  if (!become) return cmd;
  const inner = cmd instanceof ShellLine ? ['bash', '-c', cmd.text] : cmd;
  return ['sudo', '-n', '-u', become.user, '--', ...inner];
}

/**
 * sudo refused to run a command: nothing ran, so nothing changed (exit 3, as a refused preflight). The host
 * answers: it is not unreachable.
 */
export class SudoRefusedError extends CoopctlError {
  constructor(message: string, extra: { hints: string[]; details: Record<string, unknown> }) {
    super(message, { code: 'sudo-refused', exitCode: ExitCode.refused, ...extra });
  }
}

/** sudo's own refusals (not a failure of the command it ran): what `sudo -n` says when it may not go on. */
const REFUSAL = [
  /^sudo: a password is required/m,
  /^sudo: a terminal is required/m,
  /^sudo: sorry, you must have a tty/m,
  /^Sorry, user \S+ (is not allowed|may not run sudo)/m,
  /is not in the sudoers file/m,
  /^(\S+: )*(line \d+: )?sudo: (command )?not found/m,
];

/**
 * A clear error when sudo itself refused a command: which host, which login
 * user, and the sudoers line that lets it through. Undefined when the result
 * is the command's own.
 */
export function sudoRefusal(
  r: Pick<RunResult, 'exitCode' | 'stderr'>,
  host: string,
  login: string,
  become: Become,
): SudoRefusedError | undefined {
  if (r.exitCode !== 1 && r.exitCode !== 127) return undefined;
  const said = REFUSAL.map((re) => r.stderr.match(re)).find(Boolean);
  if (!said) return undefined;
  const missing = /not found/.test(said[0]);
  const line = `${login} ALL=(${become.user}) NOPASSWD: ALL`;
  return new SudoRefusedError(
    missing
      ? `${host}: sudo is not installed, and the inventory says to become ${become.user} with it`
      : `${host}: ${login} may not run commands as ${become.user} with sudo without a password ` +
          `(${said[0].trim()})`,
    {
      hints: [
        missing
          ? `install sudo on ${host} (apt-get install sudo), and give ${login} the right: ${line}`
          : `on ${host}, as root: echo '${line}' > /etc/sudoers.d/coopctl && chmod 0440 /etc/sudoers.d/coopctl ` +
            '(or `visudo -f /etc/sudoers.d/coopctl`)',
      ],
      details: { host, user: login, becomeUser: become.user },
    },
  );
}
