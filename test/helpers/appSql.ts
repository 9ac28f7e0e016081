import { quoteArg, quoteArgv } from '../../src/remote/quote.js';
import { readSwarm, swarmPath } from '../doubles/abra/swarm.js';
import { sandboxLayout } from '../world/layout.js';
import { sshToHost } from './sandbox.js';

/**
 * SQL in an app's database on the sandbox's hypha, as an operator runs it: over SSH, `docker exec` into the
 * stack's `db` task, with the client of its engine (psql as postgres; mariadb as root with the password the
 * container holds in its secret). Rows come back tab-separated, without headers.
 */
export function appSql(dir: string, stack: string, database: string, query: string): string {
  const app = Object.values(readSwarm(swarmPath(sandboxLayout(dir).host('hypha'))).apps).find((a) => a.stack === stack);
  if (!app?.db) throw new Error(`no app database for stack ${stack} on hypha`);
  const ps = `docker ps -q --filter label=com.docker.swarm.service.name=${stack}_db`;
  const client =
    app.db.engine === 'mariadb'
      ? [
          'sh',
          '-c',
          `MYSQL_PWD=$(cat "$MYSQL_ROOT_PASSWORD_FILE") exec mariadb --user=root --batch --skip-column-names ` +
            `--database=${quoteArg(database)} -e ${quoteArg(query)}`,
        ]
      : ['psql', '-X', '-At', '-F', '\t', '-U', 'postgres', '-d', database, '-c', query];
  const r = sshToHost(dir, 'hypha', `docker exec -i $(${ps}) ${quoteArgv(client)}`);
  if (r.code !== 0) throw new Error(`SQL in ${stack}_db failed (${r.code}): ${r.stderr}`);
  return r.stdout.toString().trim();
}
