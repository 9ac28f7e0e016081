import { fail, pass, warn } from '../../targets/check.js';
import { listMastodonTags } from './catalog.js';
import { upstreamOf } from './config.js';
import { redisVersion } from './host.js';
import { planUpgradeRules } from './rules.js';
import type { Check } from '../../targets/target.js';

/**
 * The version rules (exists, newer, one minor series at a time, PostgreSQL/Redis floors) against what the host
 * runs.
 */
export const targetVersionCheck: Check = {
  id: 'target-version',
  needs: ['ssh'],
  async run({ target, runner, facts, toVersion, allowPrerelease, context }) {
    if (!toVersion) return pass('no --to given: nothing to check');
    const [current, tags, pg, redis] = await Promise.all([
      facts.runningVersion(),
      listMastodonTags({ runner }, context.gitUrl(upstreamOf(target))),
      facts.postgresVersion().catch(() => undefined),
      redisVersion(target).catch(() => undefined),
    ]);
    const findings = planUpgradeRules({
      current,
      target: toVersion,
      available: tags.map((t) => t.version),
      postgresVersion: pg,
      redisVersion: redis,
      allowPrerelease,
      service: target.service,
      env: target.env,
    });
    const fails = findings.filter((f) => f.level === 'fail');
    const warns = findings.filter((f) => f.level === 'warn');
    if (fails.length) return fail(fails.map((f) => f.message).join('; '), fails.find((f) => f.fix)?.fix);
    if (warns.length) {
      return warn(
        `${current} → ${toVersion}: ${warns.map((f) => f.message).join('; ')}`,
        warns.find((f) => f.fix)?.fix,
      );
    }
    return pass(`${current} → ${toVersion}: ${findings.map((f) => f.message).join('; ')}`);
  },
};
