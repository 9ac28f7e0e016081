import { applyPrune, planStorePrune } from '../../../backup/index.js';
import { errorMessage } from '../../../kernel/errors.js';
import { assertName } from '../../../kernel/validate.js';
import type { CommandContext } from '../../context.js';
import { openBackupStore } from '../../../backup/configured.js';
import { findLeftovers } from '../../../operations/leftovers.js';
import { backupsChangesUse } from '../../../operations/retention.js';
import { leftoverDocument, leftoverRow } from './common.js';

/**
 * Retention from backup.retention: prints the plan; deletes only with --yes. Leftovers older than
 * backup.retention.leftovers go too: unfinished writes in the store, and with SERVICE --env ENV the databases
 * restores left on the hosts.
 */
export async function run(ctx: CommandContext, opts: { env?: string; store?: string }, [service]: string[]) {
  if (service) assertName(service, 'SERVICE');
  if (opts.env) assertName(opts.env, '--env');
  const store = await openBackupStore(ctx.workspace(), opts.store);
  const plan = await planStorePrune(
    store,
    { service, env: opts.env },
    new Date(),
    ctx.config().config.backup.retention,
    await backupsChangesUse(ctx.workspace(), { service, env: opts.env }),
  );
  const now = new Date();
  const problems = [...plan.problems];
  // Retention goes on when the leftovers cannot be looked at (a host down, a store without upload listing).
  const leftovers = await findLeftovers(ctx.workspace(), { service, env: opts.env, store, now }).catch((err) => {
    problems.push({ key: 'leftovers', message: `not looked at: ${errorMessage(err)}` });
    return [];
  });
  const apply = ctx.global.yes && !ctx.global.dryRun;
  const deleted = apply ? await applyPrune(store, plan) : [];
  const removed: string[] = [];
  for (const j of leftovers.filter((x) => x.remove && apply)) {
    await j.leftover.remove();
    removed.push(j.leftover.name);
  }
  const p = ctx.printer;
  if (ctx.global.json) {
    return p.json({
      keep: plan.keep.map((d) => ({
        id: d.manifest.id,
        service: d.manifest.service,
        env: d.manifest.env,
        reasons: d.reasons,
      })),
      delete: plan.delete.map((d) => ({
        id: d.manifest.id,
        service: d.manifest.service,
        env: d.manifest.env,
        reasons: d.reasons,
      })),
      orphans: plan.orphans,
      deleted,
      leftovers: leftovers.map(leftoverDocument),
      removedLeftovers: removed,
      problems,
    });
  }
  for (const d of plan.keep)
    p.out(`keep    ${d.manifest.id}  ${d.manifest.service}/${d.manifest.env}  ${d.reasons.join('; ')}`);
  for (const d of plan.delete)
    p.out(
      `${apply ? 'deleted' : 'delete '} ${d.manifest.id}  ` +
        `${d.manifest.service}/${d.manifest.env}  ${d.reasons.join('; ')}`,
    );
  for (const o of plan.orphans)
    p.out(
      `${apply ? 'deleted' : 'delete '} ${o.id}  ${o.service}/${o.env}  ` +
        `unfinished backup without a manifest (${o.keys.length} objects)`,
    );
  for (const j of leftovers) {
    const verdict = j.remove ? (apply ? 'removed' : 'remove ') : 'keep   ';
    p.out(`${verdict} ${leftoverRow(j, now).join('  ')}  ${j.reason}`);
  }
  for (const x of problems) p.warn(`${x.key}: ${x.message} (left alone)`);
  if (!apply && (plan.delete.length || plan.orphans.length || leftovers.some((j) => j.remove)))
    p.info('nothing deleted: run again with --yes to delete');
}
