import { readFileSync } from 'node:fs';
import { parseIdentities, progressText, storeFromConfig, type BackupSource, type BackupStore, type DbTarget, type Progress, type RestoreHost } from '../../../backup/index.js';
import { hostVar } from '../../../config/inventory.js';
import type { DatabaseConfig } from '../../../config/schema.js';
import { ConfigError, InputError } from '../../../core/errors.js';
import { describeSecretRef, resolveSecret } from '../../../core/secrets.js';
import { assertName } from '../../../core/validate.js';
import type { CommandContext } from '../../context.js';

/** What the backup commands share: the store, the key, the hosts, progress lines. */
export function coopctlVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function secretDeps(ctx: CommandContext) {
  const loaded = ctx.config();
  return {
    env: ctx.io.env,
    resolvePath: loaded.resolvePath,
    secret: (ref: Parameters<typeof resolveSecret>[0], where: string) =>
      resolveSecret(ref, { runner: ctx.runner, env: ctx.io.env, resolvePath: loaded.resolvePath, where }),
  };
}

export async function openStore(ctx: CommandContext, name?: string): Promise<BackupStore> {
  if (name !== undefined) assertName(name, '--store');
  const store = await storeFromConfig(ctx.config().config.backup, secretDeps(ctx), name);
  const closable = store as BackupStore & { close?: () => void };
  if (closable.close) ctx.cleanup.push(() => closable.close!());
  return store;
}

export function encryptionSettings(ctx: CommandContext) {
  const enc = ctx.config().config.backup.encryption;
  return enc ? { recipients: enc.recipients, identityRef: describeSecretRef(enc.identity) } : null;
}

/** The operators' age identity, resolved from its secret reference only when a command decrypts. */
export async function identities(ctx: CommandContext): Promise<string[]> {
  const enc = ctx.config().config.backup.encryption;
  if (!enc) throw new ConfigError('backup.encryption is not configured: no age identity to decrypt with');
  const where = 'backup.encryption.identity';
  return parseIdentities(await secretDeps(ctx).secret(enc.identity, where), where);
}

export function dbTarget(d: DatabaseConfig, composeDir: string): DbTarget {
  return { name: d.name, user: d.user, container: d.container, composeDir: d.container ? composeDir : undefined };
}

/** A Mastodon (Ansible) service × env as a backup source; its secrets file lives in mastodon_dir. */
export async function backupSource(ctx: CommandContext, service: string, env: string): Promise<BackupSource & { tables: string[] }> {
  const t = await ctx.workspace().target(service, env);
  if (t.driver !== 'ansible') {
    throw new InputError(`${service} is a Co-op Cloud app: its backups are made by its recipe (abra app backup), not by coopctl backup create`);
  }
  const d = t.serviceConfig.database;
  return {
    service,
    env,
    host: t.remote,
    db: dbTarget(d, t.paths.dataDir),
    tables: d.tables,
    secretsFile: `${t.paths.dataDir}/.env.production`,
  };
}

/** backup.restoreTest: an inventory host with PostgreSQL (the database settings default to the service's). */
export async function restoreTestHost(ctx: CommandContext, service: string): Promise<RestoreHost> {
  const ws = ctx.workspace();
  const rt = ws.config.backup.restoreTest;
  if (!rt) {
    throw new ConfigError('backup.restoreTest is not configured: name the host restores are tested on', {
      hints: ['backup: { restoreTest: { inventory: inventories/alpha.yml, host: pando } }'],
    });
  }
  const inventory = await ws.inventories.get(ctx.config().resolvePath(rt.inventory));
  const host = inventory.hosts.get(rt.host);
  if (!host) throw ctx.config().error(['backup', 'restoreTest', 'host'], `no host ${rt.host} in ${rt.inventory}`);
  const svc = ws.service(service);
  const d = rt.database ?? (svc.driver === 'ansible' ? svc.database : undefined);
  if (!d) throw ctx.config().error(['backup', 'restoreTest'], `say which database settings to use for ${service} (backup.restoreTest.database)`);
  const dir = hostVar(host, 'coopctl_data_dir') ?? hostVar(host, 'mastodon_dir') ?? '/opt/social.coop';
  return { host: ws.ssh.host({ name: host.name, address: host.address, port: host.port, user: host.user }), db: dbTarget(d, dir) };
}

/** Byte progress and throughput on stderr: a line per second (a rewritten line on a terminal). */
export function progressPrinter(ctx: CommandContext): { onProgress: (p: Progress) => void; done: () => void } {
  const text = progressText();
  const tty = Boolean(ctx.io.stderr.isTTY);
  let last = 0;
  let shown = false;
  return {
    onProgress(p) {
      const now = Date.now();
      if (now - last < (tty ? 200 : 1000)) return;
      last = now;
      shown = true;
      if (tty) ctx.io.stderr.write(`\r\x1b[K${text(p)}`);
      else ctx.printer.info(text(p));
    },
    done() {
      if (tty && shown) ctx.io.stderr.write('\r\x1b[K');
    },
  };
}
