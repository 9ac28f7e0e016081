import type { DbTarget } from '../backup/commands.js';
import type { BackupSource } from '../backup/create.js';
import { parseIdentities } from '../backup/crypto.js';
import type { RestoreFactsSource } from '../backup/restoreFacts.js';
import type { EncryptionSettings } from '../backup/create.js';
import { storeFromConfig } from '../backup/store/open.js';
import type { BackupStore } from '../backup/store/types.js';
import { hostVar } from '../config/inventory.js';
import type { RemoteHost } from '../remote/ssh.js';
import { ConfigError, InputError } from '../kernel/errors.js';
import {
  describeSecretRef,
  passEnvironment,
  resolveSecret,
  type SecretRef,
  type SecretShape,
} from '../kernel/secrets.js';
import type { Target } from './target.js';
import type { Workspace } from './workspace.js';

/** The environment `{pass: ...}` secrets resolve in: the operator's, else the directories coopctl.yaml names. */
export function secretsEnvironment(ws: Workspace): NodeJS.ProcessEnv {
  const { passwordStore, gnupgHome } = ws.config.secrets;
  const abs = (p?: string) => (p ? ws.loaded.resolvePath(p) : undefined);
  return passEnvironment(process.env, { passwordStore: abs(passwordStore), gnupgHome: abs(gnupgHome) });
}

/**
 * A secret of the config, resolved once per run (`pass show` once, gpg once):
 * preflight resolves what a run needs, and the stages after it reuse that.
 */
export function configSecret(ws: Workspace, ref: SecretRef, at: string[], shape: SecretShape): Promise<string> {
  return ws.once(`secret ${shape} ${describeSecretRef(ref)}`, () =>
    resolveSecret(ref, {
      runner: ws.runner,
      env: secretsEnvironment(ws),
      resolvePath: (p) => ws.loaded.resolvePath(p),
      where: `${ws.loaded.locate(at)} ${at.join('.')}`,
      shape,
    }),
  );
}

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
      secret: (ref, where) => configSecret(ws, ref, where.split('.'), 'value'),
      env: process.env,
    },
    name,
  );
}

export function encryptionSettings(ws: Workspace): EncryptionSettings | null {
  const e = ws.config.backup.encryption;
  return e ? { recipients: e.recipients, identityRef: describeSecretRef(e.identity) } : null;
}

/** The age identities for verify/restore, resolved from backup.encryption.identity (a whole identity file). */
export async function backupIdentities(ws: Workspace): Promise<string[] | undefined> {
  const e = ws.config.backup.encryption;
  if (!e) return undefined;
  const at = ['backup', 'encryption', 'identity'];
  const text = await configSecret(ws, e.identity, at, 'document');
  return parseIdentities(text, `${ws.loaded.locate(at)} ${at.join('.')}`);
}

/** The target's database and secrets file as a backup source. */
export function backupSource(t: Target, version?: string | null): BackupSource & { tables: string[] } {
  if (!t.database) {
    throw new InputError(
      `${t.service} is deployed by ${t.driver.id} and its profile (${t.profile.id}) names no database: ` +
        `coopctl does not dump it (abra app backup does, for abra apps)`,
    );
  }
  const secrets = t.profile.secretsFile;
  return {
    service: t.service,
    env: t.env,
    host: t.remote,
    db: t.database,
    tables: t.database.tables,
    secretsFile: secrets ? `${t.paths.dataDir}/${secrets}` : undefined,
    version,
    volumes: t.volumes,
  };
}

/**
 * Where a backup of `service`/`env` is restore-tested. A Co-op Cloud app's database (a swarm service) is tested in
 * a scratch database of that same database service: its data (the SSO's users) never lands next to another app's.
 * Every other service's go to backup.restoreTest.
 */
export async function restoreTestPlace(
  ws: Workspace,
  backup: { service: string; env: string },
): Promise<{ host: RemoteHost; db: DbTarget }> {
  const known = ws.select().some((s) => s.service === backup.service && s.env === backup.env);
  const t = known ? await ws.target(backup.service, backup.env) : undefined;
  // MariaDB's restore test runs in a throw-away server (mariadbScratch.ts) on the restore-test host, else the app's
  if (t?.database?.engine === 'mariadb') {
    const host = ws.config.backup.restoreTest ? (await restoreTestHost(ws)).host : t.remote;
    return { host, db: { engine: 'mariadb', name: 'scratch', user: 'root' } };
  }
  if (t?.database?.swarmService) {
    const { user, swarmService } = t.database;
    return { host: t.remote, db: { name: 'postgres', user, swarmService } };
  }
  return restoreTestHost(ws);
}

/** What the restore test of a backup of `service`/`env` counts besides row counts, and where its live database is. */
export async function restoreFactsSource(
  ws: Workspace,
  backup: { service: string; env: string },
): Promise<RestoreFactsSource | undefined> {
  if (!ws.select().some((s) => s.service === backup.service && s.env === backup.env)) return undefined;
  const t = await ws.target(backup.service, backup.env);
  const facts = t.profile.restoreFacts?.(t);
  return facts && t.database ? { facts, live: { host: t.remote, db: t.database } } : undefined;
}

/**
 * The host where scheduled restore tests run (backup.restoreTest), with the
 * directory of its compose project: `coopctl_data_dir`, else restoreTest.dataDir,
 * else the data dir of a service environment on that same host.
 */
export async function restoreTestHost(ws: Workspace): Promise<{ host: RemoteHost; db: DbTarget }> {
  const rt = ws.config.backup.restoreTest;
  if (!rt) {
    throw new ConfigError(
      `${ws.loaded.locate(['backup'])} backup.restoreTest: not configured ` +
        '(an inventory host with PostgreSQL to restore into)',
    );
  }
  const inventory = ws.loaded.resolvePath(rt.inventory);
  const inv = await ws.inventories.get(inventory);
  const host = inv.hosts.get(rt.host);
  if (!host) throw ws.loaded.error(['backup', 'restoreTest', 'host'], `unknown host "${rt.host}" in ${rt.inventory}`);
  const database = rt.database ?? { name: 'postgres', user: 'postgres', container: 'db', tables: [] };
  const container = database.container ?? undefined;
  let dir = hostVar(host, 'coopctl_data_dir') ?? (rt.dataDir ? ws.loaded.resolvePath(rt.dataDir) : undefined);
  if (!dir && container) {
    const sibling = ws.select().find(({ service, env }) => {
      const e = ws.service(service).environments[env];
      return e.host === rt.host && ws.loaded.resolvePath(e.inventory) === inventory;
    });
    if (sibling) dir = (await ws.target(sibling.service, sibling.env)).paths.dataDir;
  }
  if (container && !dir) {
    throw ws.loaded.error(
      ['backup', 'restoreTest'],
      `dataDir: needed to reach the "${container}" container on ${rt.host}`,
    );
  }
  return {
    host: ws.ssh.host({
      name: host.name,
      address: host.address,
      port: host.port,
      user: host.user,
      become: host.become,
    }),
    db: { name: database.name ?? 'postgres', user: database.user, container, composeDir: dir },
  };
}
