import type { ProgressWatch } from '../remote/progress.js';
import type { RemoteHost } from '../remote/ssh.js';
import { assertIdentifier, psqlCommand, type DbTarget } from './commands.js';
import { mariadbLoadProgressSql, mariadbSqlCommand } from './mariadb.js';

/**
 * What shows that a pg_restore into :'db' is working, asked of the server that does the work. Bytes read from the
 * dump alone would not do: once the data is in, pg_restore builds the indexes and constraints for a long time
 * while reading nothing. So: the database's size on disk (data and indexes being written), the bytes COPY has
 * processed (pg_stat_progress_copy, PostgreSQL ≥ 14), the phase and counts of an index build
 * (pg_stat_progress_create_index), and the start of the statement running (each item pg_restore restores is a
 * statement of its own). A validation of a foreign key moves none of them while it runs: ssh.stallTimeout must be
 * longer than the longest of those (the default, 10 minutes, is).
 */
const RESTORE_PROGRESS_SQL = `SELECT concat_ws(' ', pg_database_size(:'db'),
  (SELECT sum(bytes_processed) FROM pg_stat_progress_copy WHERE datname = :'db'),
  (SELECT string_agg(concat_ws(':', index_relid, phase, blocks_done, tuples_done), ',')
     FROM pg_stat_progress_create_index WHERE datname = :'db'),
  (SELECT string_agg(concat_ws(':', pid, query_start), ',')
     FROM pg_stat_activity WHERE datname = :'db' AND state = 'active'));
`;

/**
 * Polls the server's progress of a restore into `database` and feeds it to `watch`, a few times per stall period
 * (at most every 30 s: each poll is a `docker exec` on the host). A poll that fails counts as no progress.
 */
export function watchRestore(host: RemoteHost, db: DbTarget, database: string, watch: ProgressWatch): { stop(): void } {
  const [cmd, sql] =
    db.engine === 'mariadb'
      ? [mariadbSqlCommand(db, null), mariadbLoadProgressSql(database)]
      : [psqlCommand(db, 'postgres', { db: assertIdentifier(database, 'database') }), RESTORE_PROGRESS_SQL];
  const everyMs = Math.min(30_000, Math.max(250, host.stallTimeoutMs / 5));
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    try {
      const r = await host.exec(cmd, { mutates: false, stdin: sql, reject: false, timeoutMs: 60_000 });
      if (r.exitCode === 0) watch.saw(r.stdout.trim());
    } catch {
      // the restore's own command says what went wrong with the host
    }
    if (!stopped) timer = setTimeout(poll, everyMs);
  };
  timer = setTimeout(poll, everyMs);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
