import type { DbTarget } from '../backup/commands.js';
import { parseIdentities } from '../backup/crypto.js';
import type { EncryptionSettings } from '../backup/create.js';
import { storeFromConfig } from '../backup/store/open.js';
import type { BackupStore } from '../backup/store/types.js';
import { hostVar } from '../config/inventory.js';
import type { DatabaseConfig } from '../config/schema.js';
import { ConfigError, InputError } from '../kernel/errors.js';
import { describeSecretRef, resolveSecret } from '../kernel/secrets.js';
import type { AnsibleTarget, Target, Workspace } from './workspace.js';

/**
 * Wires the backup library to the configuration: which store, which keys,
 * how to reach a target's database. Shared by the backup commands and the
 * safety backup of upgrades.
 */
export function openBackupStore(ws: Workspace, name?: string): Promise<BackupStore> {
  return storeFromConfig(
    ws.config.backup,
    {
      resolvePath: (p) => ws.loaded.resolvePath(p),
      secret: (ref, where) => resolveSecret(ref, { runner: ws.runner, env: process.env, resolvePath: (p) => ws.loaded.resolvePath(p), where: `${ws.loaded.locate(['backup'])} ${where}` }),
      env: process.env,
    },
    name,
  );
}

export function encryptionSettings(ws: Workspace): EncryptionSettings | null {
  const e = ws.config.backup.encryption;
  return e ? { recipients: e.recipients, identityRef: describeSecretRef(e.identity) } : null;
}

/** The age identities for verify/restore, resolved from backup.encryption.identity. */
export async function backupIdentities(ws: Workspace): Promise<string[] | undefined> {
  const e = ws.config.backup.encryption;
  if (!e) return undefined;
  const where = `${ws.loaded.locate(['backup', 'encryption', 'identity'])} backup.encryption.identity`;
  const text = await resolveSecret(e.identity, { runner: ws.runner, env: process.env, resolvePath: (p) => ws.loaded.resolvePath(p), where });
  return parseIdentities(text, where);
}

export function dbTargetOf(database: DatabaseConfig, composeDir: string): DbTarget {
  return { name: database.name, user: database.user, container: database.container ?? undefined, composeDir };
}

export function requireAnsible(t: Target, what: string): AnsibleTarget {
  if (t.driver !== 'ansible') {
    throw new InputError(`${what}: ${t.service} is deployed by abra; its backups are abra's (abra app backup), not coopctl's database dumps`);
  }
  return t;
}

export function targetDb(t: AnsibleTarget): DbTarget {
  return dbTargetOf(t.serviceConfig.database, t.paths.dataDir);
}

/** The host where scheduled restore tests run (backup.restoreTest). */
export async function restoreTestHost(ws: Workspace) {
  const rt = ws.config.backup.restoreTest;
  if (!rt) throw new ConfigError(`${ws.loaded.locate(['backup'])} backup.restoreTest: not configured (an inventory host with PostgreSQL to restore into)`);
  const inv = await ws.inventories.get(ws.loaded.resolvePath(rt.inventory));
  const host = inv.hosts.get(rt.host);
  if (!host) throw ws.loaded.error(['backup', 'restoreTest', 'host'], `unknown host "${rt.host}" in ${rt.inventory}`);
  const database = rt.database ?? { name: 'postgres', user: 'postgres', container: 'db', tables: [] };
  const dir = hostVar(host, 'coopctl_data_dir') ?? hostVar(host, 'mastodon_dir') ?? '/opt/social.coop';
  return {
    host: ws.ssh.host({ name: host.name, address: host.address, port: host.port, user: host.user }),
    db: dbTargetOf(database, dir),
  };
}
