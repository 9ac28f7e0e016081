import { readFile } from 'node:fs/promises';
import { ConfigError } from './errors.js';
import { CommandFailedError, type ProcessRunner } from './process.js';
import { registerSecret } from './redact.js';

/** Where a secret comes from (coopctl.yaml holds these references, never values). */
export type SecretRef = { env: string } | { file: string } | { pass: string };

/**
 * What a secret is: a `value` (a key, a password) or a `document` (an age
 * identity file, comments included). A pass entry's value is its first line,
 * as `pass` itself has it; the lines after it are metadata.
 */
export type SecretShape = 'value' | 'document';

interface SecretDeps {
  runner: ProcessRunner;
  env: NodeJS.ProcessEnv;
  resolvePath: (p: string) => string;
  where: string;
  shape?: SecretShape;
}

/**
 * The environment `pass` runs with: the operator's, and where it sets no PASSWORD_STORE_DIR or GNUPGHOME, the
 * directories coopctl.yaml's `secrets:` names (absolute). The operator's variables win: coopctl.yaml is shared in
 * the operators' repo, and one operator's store may live elsewhere; the file's names serve a shell that sets none.
 */
export function passEnvironment(
  env: NodeJS.ProcessEnv,
  configured: { passwordStore?: string; gnupgHome?: string },
): NodeJS.ProcessEnv {
  return {
    ...env,
    PASSWORD_STORE_DIR: env.PASSWORD_STORE_DIR || configured.passwordStore,
    GNUPGHOME: env.GNUPGHOME || configured.gnupgHome,
  };
}

export function describeSecretRef(ref: SecretRef): string {
  if ('env' in ref) return `env:${ref.env}`;
  if ('file' in ref) return `file:${ref.file}`;
  return `pass:${ref.pass}`;
}

/**
 * Resolves a secret reference. The value is registered with the redactor
 * before it is returned, so it cannot reach output, logs, history or
 * manifests afterwards.
 */
export async function resolveSecret(ref: SecretRef, deps: SecretDeps): Promise<string> {
  let value: string | undefined;
  if ('env' in ref) {
    value = deps.env[ref.env];
    if (!value)
      throw new ConfigError(`${deps.where}: secret env:${ref.env} is not set`, {
        hints: [`export ${ref.env}=... (or use a pass entry)`],
      });
  } else if ('file' in ref) {
    const file = deps.resolvePath(ref.file);
    try {
      value = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(
        `${deps.where}: secret file ${file} ` +
          `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  } else {
    const text = await passShow(ref.pass, deps);
    value = deps.shape === 'document' ? text.replace(/\r?\n$/, '') : text.split(/\r?\n/)[0];
  }
  if (!value) throw new ConfigError(`${deps.where}: secret ${describeSecretRef(ref)} is empty`);
  registerSecret(value);
  return value;
}

/**
 * `pass show ENTRY`, with the operator's GNUPGHOME and PASSWORD_STORE_DIR.
 * gpg runs in batch mode and never starts a pinentry: a key that needs its
 * passphrase is an error here, not a prompt hanging under a task list.
 */
async function passShow(entry: string, deps: SecretDeps): Promise<string> {
  const gpgOpts = [deps.env.PASSWORD_STORE_GPG_OPTS, '--batch', '--pinentry-mode', 'error'].filter(Boolean).join(' ');
  try {
    const r = await deps.runner.run('pass', ['show', entry], {
      mutates: false,
      timeoutMs: 120_000,
      input: '',
      env: { PASSWORD_STORE_GPG_OPTS: gpgOpts, ...passStoreVariables(deps.env) },
    });
    return r.stdout;
  } catch (err) {
    if (err instanceof CommandFailedError) throw passError(entry, deps, err.result.stderr);
    if (err instanceof ConfigError || (err as { code?: string }).code === 'missing-tool') {
      throw new ConfigError(
        `${deps.where}: secret pass:${entry} needs the 'pass' password manager, which is not installed`,
        { hints: ['install pass and gnupg (Debian: apt-get install pass)'] },
      );
    }
    throw err;
  }
}

/** PASSWORD_STORE_DIR and GNUPGHOME of `env`, those set. */
export function passStoreVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const vars = { PASSWORD_STORE_DIR: env.PASSWORD_STORE_DIR, GNUPGHOME: env.GNUPGHOME };
  return Object.fromEntries(Object.entries(vars).filter((e): e is [string, string] => !!e[1]));
}

function passError(entry: string, deps: SecretDeps, stderr: string): ConfigError {
  const store = deps.env.PASSWORD_STORE_DIR || '~/.password-store';
  if (/is not in the password store/.test(stderr)) {
    return new ConfigError(`${deps.where}: secret pass:${entry} is not in the password store (${store})`, {
      hints: [`pass insert ${entry} (or name the store that has it: PASSWORD_STORE_DIR, or secrets.passwordStore)`],
    });
  }
  const why = stderr.split('\n').find((l) => /^gpg: /.test(l)) ?? stderr.trim().split('\n')[0] ?? '';
  return new ConfigError(`${deps.where}: secret pass:${entry} could not be decrypted${why ? ` (${why})` : ''}`, {
    hints: [
      'coopctl runs gpg without a passphrase prompt: unlock your key first ' +
        `(\`pass show ${entry} >/dev/null\` at your terminal; gpg-agent keeps it), and check GNUPGHOME`,
    ],
  });
}
