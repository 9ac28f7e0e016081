import { readFile } from 'node:fs/promises';
import { ConfigError } from './errors.js';
import { CommandFailedError, type ProcessRunner } from './process.js';
import { registerSecret } from './redact.js';

/** Where a secret comes from (coopctl.yaml holds these references, never values). */
export type SecretRef = { env: string } | { file: string } | { pass: string };

/**
 * Resolves a secret reference at the moment it is needed. The value is
 * registered with the redactor before it is returned, so it cannot reach
 * output, logs, history or manifests afterwards.
 */
export function describeSecretRef(ref: SecretRef): string {
  if ('env' in ref) return `env:${ref.env}`;
  if ('file' in ref) return `file:${ref.file}`;
  return `pass:${ref.pass}`;
}

export async function resolveSecret(
  ref: SecretRef,
  deps: { runner: ProcessRunner; env: NodeJS.ProcessEnv; resolvePath: (p: string) => string; where: string },
): Promise<string> {
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
    try {
      const r = await deps.runner.run('pass', ['show', ref.pass], { mutates: false, timeoutMs: 120_000 });
      value = r.stdout.split('\n')[0];
    } catch (err) {
      if (err instanceof CommandFailedError) {
        throw new ConfigError(
          `${deps.where}: secret pass:${ref.pass} could not be read (is it in the password store?)`,
        );
      }
      if (err instanceof ConfigError || (err as { code?: string }).code === 'missing-tool') {
        throw new ConfigError(
          `${deps.where}: secret pass:${ref.pass} needs the 'pass' password manager, which is not installed`,
        );
      }
      throw err;
    }
  }
  if (!value) throw new ConfigError(`${deps.where}: secret ${describeSecretRef(ref)} is empty`);
  registerSecret(value);
  return value;
}
