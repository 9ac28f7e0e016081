import type { LoadedConfig } from '../config/load.js';
import type { ProcessRunner } from '../kernel/process.js';
import {
  describeSecretRef,
  passEnvironment,
  resolveSecret,
  type SecretRef,
  type SecretShape,
} from '../kernel/secrets.js';
import type { EncryptionSettings } from './create.js';
import { parseIdentities } from './crypto.js';
import { storeFromConfig } from './store/open.js';
import type { BackupStore } from './store/types.js';

/** What the backup library's wiring to coopctl.yaml needs of a run: the config, the runner, values made once. */
export interface ConfiguredRun {
  readonly loaded: LoadedConfig;
  readonly runner: ProcessRunner;
  once<T>(key: string, make: () => T): T;
}

/** The environment `{pass: ...}` secrets resolve in: the operator's, else the directories coopctl.yaml names. */
export function secretsEnvironment(run: ConfiguredRun): NodeJS.ProcessEnv {
  const { passwordStore, gnupgHome } = run.loaded.config.secrets;
  const abs = (p?: string) => (p ? run.loaded.resolvePath(p) : undefined);
  return passEnvironment(process.env, { passwordStore: abs(passwordStore), gnupgHome: abs(gnupgHome) });
}

/**
 * A secret of the config, resolved once per run (`pass show` once, gpg once):
 * preflight resolves what a run needs, and the stages after it reuse that.
 */
export function configSecret(run: ConfiguredRun, ref: SecretRef, at: string[], shape: SecretShape): Promise<string> {
  return run.once(`secret ${shape} ${describeSecretRef(ref)}`, () =>
    resolveSecret(ref, {
      runner: run.runner,
      env: secretsEnvironment(run),
      resolvePath: (p) => run.loaded.resolvePath(p),
      where: `${run.loaded.locate(at)} ${at.join('.')}`,
      shape,
    }),
  );
}

/**
 * Wires the backup library to the configuration: which store, which keys,
 * how to reach a target's database. Shared by the backup commands and the
 * safety backup of upgrades.
 */
export function openBackupStore(run: ConfiguredRun, name?: string): Promise<BackupStore> {
  return storeFromConfig(
    run.loaded.config.backup,
    {
      resolvePath: (p) => run.loaded.resolvePath(p),
      secret: (ref, where) => configSecret(run, ref, where.split('.'), 'value'),
      env: process.env,
    },
    name,
  );
}

export function encryptionSettings(run: ConfiguredRun): EncryptionSettings | null {
  const e = run.loaded.config.backup.encryption;
  return e ? { recipients: e.recipients, identityRef: describeSecretRef(e.identity) } : null;
}

/** The age identities for verify/restore, resolved from backup.encryption.identity (a whole identity file). */
export async function backupIdentities(run: ConfiguredRun): Promise<string[] | undefined> {
  const e = run.loaded.config.backup.encryption;
  if (!e) return undefined;
  const at = ['backup', 'encryption', 'identity'];
  const text = await configSecret(run, e.identity, at, 'document');
  return parseIdentities(text, `${run.loaded.locate(at)} ${at.join('.')}`);
}
