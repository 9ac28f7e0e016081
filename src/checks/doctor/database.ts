import { dbCommand } from '../../remote/compose.js';
import { finding } from '../../targets/doctor.js';
import { firstLine } from './tools.js';
import type { DoctorProbe } from '../../targets/target.js';

/** "pg_dump (PostgreSQL) 15.10 (Debian 15.10-1.pgdg120+1)" → "15.10" */
export function parsePgDumpVersion(text: string): string | undefined {
  return /pg_dump \(PostgreSQL\) (\d+(?:\.\d+)?)/.exec(text)?.[1];
}

const major = (v: string) => Number(v.split('.')[0]);

/**
 * The database coopctl dumps: the server's version, as the checks read it (`show server_version`), and the pg_dump
 * next to it that coopctl dumps with. pg_dump refuses a server of a newer major version.
 */
export const databaseProbe: DoctorProbe = {
  id: 'postgresql',
  scope: 'target',
  // a MariaDB database: the database-image probe checks its engine, and backups check mariadb-dump (app-backup)
  appliesTo: (t) => t.database !== undefined && t.database.engine !== 'mariadb',
  async run({ target: t, facts }) {
    const db = t.database!;
    const where = db.swarmService ?? db.container ?? t.host.name;
    const [server, dump] = await Promise.all([
      facts.postgresVersion(),
      t.remote.exec(dbCommand(db, ['pg_dump', '--version']), { mutates: false, reject: false, timeoutMs: 60_000 }),
    ]);
    const dumpVersion = parsePgDumpVersion(dump.stdout);
    const assumes =
      `${db.name} is a PostgreSQL database; coopctl dumps it with the pg_dump in ${where} ` +
      '(pg_dump -Fc, restored with pg_restore)';
    const subject = `${t.service}/${t.env}`;
    const found = `server PostgreSQL ${server}; ${
      dumpVersion ? `pg_dump ${dumpVersion}` : `pg_dump: ${firstLine(dump.stderr || dump.stdout)}`
    } in ${where}`;
    if (!dumpVersion) {
      const ran = dump.exitCode === 0;
      const action = ran ? 'dumps with it, its version unknown' : `backups fail: pg_dump does not run in ${where}`;
      return [finding('postgresql', subject, ran ? 'unknown' : 'fail', { found, assumes, action })];
    }
    if (major(dumpVersion) < major(server)) {
      const action = `backups fail: pg_dump ${major(dumpVersion)} refuses a ${major(server)} server`;
      return [finding('postgresql', subject, 'fail', { found, assumes, action })];
    }
    return [finding('postgresql', subject, 'ok', { found, assumes, action: `dumps with pg_dump ${dumpVersion}` })];
  },
};
