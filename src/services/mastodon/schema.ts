import type { RemoteHost } from '../../remote/ssh.js';
import type { DbTarget } from '../../backup/commands.js';
import { psqlQuery } from './compose.js';

/** Where the database schema stands: how many migrations ran, and the newest. */
export interface SchemaMark {
  count: number;
  newest: string;
}

export async function readSchemaMark(remote: RemoteHost, db: DbTarget): Promise<SchemaMark> {
  const r = await remote.exec(psqlQuery(db, "select count(*) || ' ' || coalesce(max(version), '') from schema_migrations"), { mutates: false, timeoutMs: 60_000 });
  const [count, newest = ''] = r.stdout.trim().split(' ');
  return { count: Number(count), newest };
}

export function sameSchema(a: SchemaMark, b: SchemaMark): boolean {
  return a.count === b.count && a.newest === b.newest;
}
