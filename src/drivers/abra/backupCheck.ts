import { errorMessage } from '../../kernel/errors.js';
import { mariadbDumpVersionCommand } from '../../backup/mariadb.js';
import { dbCommand } from '../../remote/compose.js';
import { fail, pass, type Check } from '../../targets/check.js';
import { abraClient, abraConfig } from './app.js';

/**
 * A backup is possible before anything changes: for an app coopctl dumps, its dump tool (pg_dump, mariadb-dump)
 * answers in the app's database service on the server; for the others, the recipe at the deployed version has
 * backupbot labels (without them abra says "no backup configs discovered" when the safety backup is due).
 */
export const appBackupCheck: Check = {
  id: 'app-backup',
  needs: ['abra-app'],
  async run({ target: t, workspace: ws, facts }) {
    const db = t.database;
    if (db) {
      const mariadb = db.engine === 'mariadb';
      const tool = mariadb ? 'mariadb-dump' : 'pg_dump';
      const cmd = mariadb ? mariadbDumpVersionCommand(db) : dbCommand(db, ['pg_dump', '--version']);
      const r = await t.remote.exec(cmd, { mutates: false, reject: false });
      if (r.exitCode !== 0) {
        const why = (r.stderr || r.stdout).trim().split('\n')[0];
        return fail(
          `${tool} does not run in ${db.swarmService ?? db.container ?? t.host.name}: ${why}`,
          `is the app's ${db.container ?? 'database'} service running? (docker service ls on ${t.host.name})`,
        );
      }
      return pass(`coopctl dumps ${db.name}: ${r.stdout.trim()} in ${db.swarmService ?? db.container}`);
    }
    const { recipe, domain } = abraConfig(t);
    let compose: string | undefined;
    try {
      compose = await abraClient(ws).recipes.fileAt(recipe, await facts.runningVersion(), 'compose.yml');
    } catch (err) {
      return fail(`cannot read ${recipe}'s compose file at the deployed version: ${errorMessage(err)}`);
    }
    if (!compose || !/backupbot\.backup["']?\s*[=:]\s*["']?(true|\$\{ENABLE_BACKUPS:-true\})/.test(compose)) {
      return fail(
        `${domain} cannot be backed up: recipe ${recipe} has no backupbot labels at the deployed version, ` +
          'and coopctl.yaml names no database for it to dump',
        `add database: {name, container} to the service in coopctl.yaml, or upgrade to a recipe release with backups`,
      );
    }
    return pass(`abra app backup (backupbot labels in ${recipe}); each snapshot is proven to hold its dump`);
  },
};
