import { errorMessage } from '../../kernel/errors.js';
import { mariadbDumpVersionCommand } from '../../backup/mariadb.js';
import { dbCommand } from '../../remote/compose.js';
import { fail, pass } from '../../targets/check.js';
import type { Check, Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';
import { abraClient, abraConfig } from './app.js';
import { backupDumpFiles } from './recipeLabels.js';
import { type SwarmService, stackServices } from './swarm.js';

/** A swarm service of backup-bot-two, by its name or image (abra's own lookup is by a label: U). */
export function isBackupBot(s: SwarmService): boolean {
  return /backup-?bot/i.test(`${s.name} ${s.image ?? ''}`);
}

/**
 * Why `abra app backup` cannot run for the target, or undefined: it runs in backup-bot-two's container on the
 * server, and abra gives it a terminal only when coopctl runs abra under one (util-linux `script`).
 */
async function abraBackupBlocker(
  context: RunContext,
  t: Target,
): Promise<{ message: string; fix: string } | undefined> {
  const svc = t.service;
  const fix =
    `add database: (and volumes:) for ${svc} in coopctl.yaml, so coopctl backs it up itself; ` +
    `or deploy backup-bot-two on ${t.host.name}`;
  const bots = (await stackServices(t.remote)).filter(isBackupBot);
  if (!bots.length) {
    return {
      message:
        `${abraConfig(t).domain} cannot be backed up: coopctl.yaml names no database: for ${svc}, and ` +
        `${t.host.name} runs no backup-bot-two, which abra app backup needs`,
      fix,
    };
  }
  if (!bots.some((b) => b.running > 0)) {
    const found = bots.map((b) => `${b.name} ${b.running}/${b.desired}`).join(', ');
    return { message: `backup-bot-two runs no task on ${t.host.name} (${found}): abra app backup would fail`, fix };
  }
  const script = await context.runner
    .run('script', ['--version'], { mutates: false, reject: false })
    .catch(() => undefined);
  if (script?.exitCode !== 0) {
    return {
      message: "util-linux script is not installed here: abra's backup commands need a terminal, which it gives them",
      fix: 'apt-get install util-linux (or bsdutils, which has script on Debian)',
    };
  }
  return undefined;
}

/**
 * A backup is possible before anything changes: for an app coopctl dumps, its dump tool (pg_dump, mariadb-dump)
 * answers in the app's database service on the server; for the others, backup-bot-two runs on the server and
 * the recipe at the deployed version has backupbot labels (without them abra says "no backup configs discovered"
 * when the safety backup is due).
 */
export const appBackupCheck: Check = {
  id: 'app-backup',
  needs: ['abra-app'],
  async run({ target: t, context, facts }) {
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
    const blocker = await abraBackupBlocker(context, t);
    if (blocker) return fail(blocker.message, blocker.fix);
    const { recipe, domain } = abraConfig(t);
    let compose: string | undefined;
    try {
      compose = await abraClient(context).recipes.fileAt(recipe, await facts.runningVersion(), 'compose.yml');
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
    const dumps = backupDumpFiles(compose);
    if (!dumps.length) {
      return fail(
        `${domain}: recipe ${recipe}'s backupbot labels name no dump file (backupbot.backup.volumes.V.path), ` +
          'so no snapshot of it can be proven by reading its dump back',
        `add database: (and volumes:) for ${t.service} in coopctl.yaml, so coopctl backs it up itself`,
      );
    }
    return pass(
      `abra app backup through backup-bot-two (backupbot labels in ${recipe}); each snapshot's ` +
        `${dumps.join(', ')} is read back`,
    );
  },
};
