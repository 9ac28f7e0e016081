import { homedir } from 'node:os';
import path from 'node:path';
import type { Config, StoreConfig } from '../../config/schema.js';
import type { SecretRef } from '../../kernel/secrets.js';
import { ConfigError } from '../../kernel/errors.js';
import { unknownName } from '../../kernel/validate.js';
import { LocalStore } from './local.js';
import type { BackupStore } from './types.js';

export interface StoreDeps {
  /** Paths in the config are relative to its directory. */
  resolvePath(p: string): string;
  /** Resolves a secret reference (src/core/secrets.ts resolveSecret). */
  secret(ref: SecretRef, where: string): Promise<string>;
  env: NodeJS.ProcessEnv;
}

/** Where the default `local` store keeps backups when coopctl.yaml does not define one. */
function defaultLocalDir(env: NodeJS.ProcessEnv): string {
  const state = env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state');
  return path.join(state, 'coopctl', 'backups');
}

async function openStore(name: string, cfg: StoreConfig, deps: StoreDeps): Promise<BackupStore> {
  if (cfg.type === 'local') return new LocalStore(deps.resolvePath(cfg.dir));
  const where = `backup.stores.${name}`;
  // Loaded only when used: the AWS SDK costs ~20 MB and start-up time.
  const { S3Store } = await import('./s3.js');
  const [accessKeyId, secretAccessKey] = await Promise.all([
    deps.secret(cfg.accessKeyId, `${where}.accessKeyId`),
    deps.secret(cfg.secretAccessKey, `${where}.secretAccessKey`),
  ]);
  return new S3Store({
    endpoint: cfg.endpoint,
    hostEndpoint: cfg.hostEndpoint,
    region: cfg.region,
    bucket: cfg.bucket,
    prefix: cfg.prefix,
    forcePathStyle: cfg.forcePathStyle,
    accessKeyId,
    secretAccessKey,
    partSize: cfg.partSize,
  });
}

/** The store named by --store or backup.store; `local` exists even when not configured. */
export async function storeFromConfig(
  backup: Config['backup'],
  deps: StoreDeps,
  name = backup.store,
): Promise<BackupStore> {
  const cfg = backup.stores[name];
  if (cfg) return openStore(name, cfg, deps);
  if (name === 'local') return new LocalStore(defaultLocalDir(deps.env));
  throw new ConfigError(`backup store: ${unknownName('store', name, ['local', ...Object.keys(backup.stores)])}`);
}
