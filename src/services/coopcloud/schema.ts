import { ToolOutputError } from '../../kernel/errors.js';
import { psqlQuery } from '../../remote/compose.js';
import type { RemoteHost } from '../../remote/ssh.js';
import type { SchemaMark } from '../../targets/profile.js';
import type { Target } from '../../targets/target.js';

/** The migration ledgers of the frameworks the apps use, and the column that orders them. */
const LEDGERS: Record<string, string> = {
  schema_migrations: 'version', // Ecto (Bonfire), Rails
  databasechangelog: 'orderexecuted', // Liquibase (Keycloak)
};

/**
 * Where an app's schema stands: rows and newest entry of its migration ledger. An app with none (MediaWiki) has no
 * mark: a failed change then restores its backup, as nothing tells whether its data changed.
 */
export async function appSchemaMark(remote: RemoteHost, t: Target): Promise<SchemaMark> {
  const db = t.database;
  if (!db) throw new ToolOutputError(`${t.service}: no database configured`);
  const find = `select coalesce(${Object.keys(LEDGERS)
    .map((n) => `to_regclass('${n}')::text`)
    .join(', ')}, '')`;
  const found = (await remote.exec(psqlQuery(db, find), { mutates: false, timeoutMs: 60_000 })).stdout.trim();
  const column = LEDGERS[found];
  if (!column) throw new ToolOutputError(`${t.service}: its database has no migration ledger coopctl knows`);
  const sql = `select count(*) || ' ' || coalesce(max(${column})::text, '') from ${found}`;
  const r = await remote.exec(psqlQuery(db, sql), { mutates: false, timeoutMs: 60_000 });
  const [count, newest = ''] = r.stdout.trim().split(' ');
  return { count: Number(count), newest };
}
