import {
  asMastodonVersion,
  compareMastodonVersions,
  compareSeries,
  displayOf,
  newestStable,
  seriesOf,
  sortMastodonVersions,
  type MastodonVersion,
  type VersionLike,
} from './version.js';

/**
 * What Mastodon itself (code and docs) allows for an upgrade from one version
 * to another. Each finding carries a fix the operator can act on.
 */
type RuleLevel = 'fail' | 'warn' | 'ok';

export interface RuleFinding {
  id: string;
  level: RuleLevel;
  message: string;
  fix?: string;
}

interface UpgradeRuleInput {
  current: VersionLike;
  target: VersionLike;
  /** The upstream tags (stable and pre-release). */
  available: readonly VersionLike[];
  /** As the host reports it: `15.4`, `PostgreSQL 14.2 (Debian ...)`; undefined when unknown. */
  postgresVersion?: string;
  /** `7.0.15`; undefined when unknown. */
  redisVersion?: string;
  allowPrerelease: boolean;
  /** Fill the commands in fixes (`coopctl rollback <service> --env <env>`). */
  service?: string;
  env?: string;
}

type Series = readonly [major: number, minor: number];

function atLeast(v: MastodonVersion, s: Series): boolean {
  return v.major > s[0] || (v.major === s[0] && v.minor >= s[1]);
}

/** Environment-file requirements that start at a series; checked against the env file by the preflight. */
interface EnvRequirement {
  id: string;
  since: Series;
  /** Variables that must be set from `since` on. */
  requires: string[];
  /** Variables that must not be set from `since` on. */
  forbids: string[];
  message: string;
  fix: string;
}

const ENV_REQUIREMENTS: readonly EnvRequirement[] = [
  {
    id: 'active-record-encryption',
    since: [4, 3],
    requires: [
      'ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY',
      'ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT',
      'ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY',
    ],
    forbids: [],
    message: 'Mastodon 4.3 refuses to start without the three ACTIVE_RECORD_ENCRYPTION_* keys',
    fix:
      'generate them with `bin/rails db:encryption:init` ' +
      '(compose: `docker compose run --rm web bin/rails db:encryption:init`), ' +
      'add them to .env.production and back that file up: losing the keys breaks 2FA',
  },
  {
    id: 'redis-namespace',
    since: [4, 4],
    requires: [],
    forbids: ['REDIS_NAMESPACE'],
    message: 'Mastodon 4.4 refuses to start while REDIS_NAMESPACE is set',
    fix:
      'remove REDIS_NAMESPACE from .env.production ' +
      '(move the data to an unprefixed Redis database first if it is shared)',
  },
];

/** The env requirements whose series lies in (current's series, target's series]. */
export function envRequirementsCrossed(current: VersionLike, target: VersionLike): EnvRequirement[] {
  const cur = asMastodonVersion(current, 'current version');
  const tgt = asMastodonVersion(target, '--to');
  return ENV_REQUIREMENTS.filter((r) => !atLeast(cur, r.since) && atLeast(tgt, r.since));
}

interface ZeroDowntimeLimit {
  id: string;
  /** Applies to targets in [from, to] (to open-ended when absent). */
  from: Series;
  to?: Series;
  minCurrent: Series;
  why: string;
}

// Enforced by Mastodon's code; the open-ended 4.7 limit is assumed to hold for later series too.
const ZERO_DOWNTIME_LIMITS: readonly ZeroDowntimeLimit[] = [
  {
    id: 'zero-downtime',
    from: [4, 4],
    to: [4, 6],
    minCurrent: [4, 2],
    why: 'Mastodon 4.4–4.6 refuse zero-downtime (pre-deployment) migrations from a schema older than 4.2',
  },
  {
    id: 'zero-downtime',
    from: [4, 7],
    minCurrent: [4, 3],
    why: 'Mastodon 4.7 refuses zero-downtime (pre-deployment) migrations from a schema older than 4.3',
  },
  {
    id: 'otp-secret',
    from: [4, 4],
    minCurrent: [4, 3],
    why: 'Mastodon 4.4 dropped OTP_SECRET, which breaks the migration of two-factor secrets from versions before 4.3',
  },
];

const POSTGRES_FLOORS: readonly { from: Series; major: number }[] = [
  { from: [4, 5], major: 14 },
  { from: [4, 4], major: 13 },
  { from: [4, 3], major: 12 },
];

const REDIS_FLOORS: readonly { from: Series; floor: Series }[] = [
  { from: [4, 6], floor: [7, 0] },
  { from: [4, 4], floor: [6, 2] },
];

/** `15.4`, `PostgreSQL 14.2 (Debian …)`, `7.0.15` → [15, 4]; undefined when there is no number. */
function parseServerVersion(text: string | undefined): Series | undefined {
  const m = text === undefined ? null : /(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2] ?? 0)] : undefined;
}

function seriesList(available: readonly MastodonVersion[], after: MastodonVersion, before: MastodonVersion): string[] {
  const out = new Set<string>();
  for (const v of sortMastodonVersions(available)) {
    if (v.stable && compareSeries(v, after) > 0 && compareSeries(v, before) < 0) out.add(seriesOf(v));
  }
  return [...out];
}

/** The newest stable patch of the first series after current's that has a stable release. */
export function nextSeriesTarget(current: VersionLike, available: readonly VersionLike[]): MastodonVersion | undefined {
  const cur = asMastodonVersion(current, 'current version');
  const stableLater = available
    .map((v) => asMastodonVersion(v, 'available version'))
    .filter((v) => v.stable && compareSeries(v, cur) > 0);
  const first = sortMastodonVersions(stableLater)[0];
  return first && newestStable(stableLater, seriesOf(first));
}

function rollbackCommand(input: UpgradeRuleInput): string {
  return `coopctl rollback ${input.service ?? '<service>'} --env ${input.env ?? '<env>'}`;
}

function versionsCommand(input: UpgradeRuleInput): string {
  return `coopctl versions ${input.service ?? '<service>'}${input.env ? ` --env ${input.env}` : ''}`;
}

function targetRules(
  input: UpgradeRuleInput,
  cur: MastodonVersion,
  tgt: MastodonVersion,
  avail: MastodonVersion[],
): RuleFinding[] {
  const out: RuleFinding[] = [];
  const t = displayOf(tgt);
  if (avail.some((v) => compareMastodonVersions(v, tgt) === 0)) {
    out.push({ id: 'target-exists', level: 'ok', message: `${t} is an upstream release` });
  } else {
    const near = newestStable(avail, seriesOf(tgt)) ?? newestStable(avail);
    out.push({
      id: 'target-exists',
      level: 'fail',
      message:
        `${t} is not a tag of the upstream repository` +
        `${near ? ` (the newest ${seriesOf(near)} release is ${displayOf(near)})` : ''}`,
      fix: `list the versions with \`${versionsCommand(input)}\``,
    });
  }
  const direction = compareMastodonVersions(tgt, cur);
  if (direction === 0) {
    out.push({
      id: 'target-newer',
      level: 'fail',
      message: `already running ${displayOf(cur)}`,
      fix: `nothing to upgrade; see \`${versionsCommand(input)}\` for newer versions`,
    });
  } else if (direction < 0) {
    out.push({
      id: 'target-newer',
      level: 'fail',
      message: `downgrade refused (${displayOf(cur)} → ${t}): restoring a pre-upgrade backup is the only safe way back`,
      fix: `\`${rollbackCommand(input)}\` restores the backup taken before the upgrade to ${displayOf(cur)}`,
    });
  } else {
    out.push({ id: 'target-newer', level: 'ok', message: `${displayOf(cur)} → ${t} is an upgrade` });
  }
  if (!tgt.stable) {
    const stable = newestStable(avail, seriesOf(tgt)) ?? newestStable(avail);
    const alternative =
      stable && compareMastodonVersions(stable, cur) > 0 ? `, or choose the stable ${displayOf(stable)}` : '';
    out.push(
      input.allowPrerelease
        ? { id: 'prerelease', level: 'warn', message: `${t} is a pre-release: try it on alpha, not in production` }
        : {
            id: 'prerelease',
            level: 'fail',
            message: `${t} is a pre-release`,
            fix: `pass --pre to allow pre-releases${alternative}`,
          },
    );
  }
  return out;
}

function seriesRule(cur: MastodonVersion, tgt: MastodonVersion, avail: MastodonVersion[]): RuleFinding {
  const skipped = seriesList(avail, cur, tgt);
  if (skipped.length === 0) {
    const same = compareSeries(cur, tgt) === 0;
    return {
      id: 'minor-series',
      level: 'ok',
      message: same
        ? `stays in series ${seriesOf(cur)}`
        : `moves one minor series, ${seriesOf(cur)} → ${seriesOf(tgt)}`,
    };
  }
  const next = nextSeriesTarget(cur, avail);
  const major = cur.major !== tgt.major ? ' (a major upgrade does not lift this)' : '';
  return {
    id: 'minor-series',
    level: 'fail',
    message:
      `${displayOf(cur)} → ${displayOf(tgt)} skips series ${skipped.join(', ')}${major}: ` +
      'since Feb 2026 the Mastodon docs require deploying at least one release of every minor series, ' +
      'and carrying out the upgrade notes of every skipped release',
    fix: next
      ? `upgrade to ${displayOf(next)} first (the newest patch of ${seriesOf(next)}), then continue`
      : `upgrade to a ${skipped[0]} release first`,
  };
}

function zeroDowntimeRules(cur: MastodonVersion, tgt: MastodonVersion, avail: MastodonVersion[]): RuleFinding[] {
  const out: RuleFinding[] = [];
  for (const limit of ZERO_DOWNTIME_LIMITS) {
    const applies = atLeast(tgt, limit.from) && (!limit.to || !atLeast(tgt, [limit.to[0], limit.to[1] + 1]));
    if (!applies || atLeast(cur, limit.minCurrent) || out.some((f) => f.id === limit.id)) continue;
    const series = `${limit.minCurrent[0]}.${limit.minCurrent[1]}`;
    const step = newestStable(avail, series);
    out.push({
      id: limit.id,
      level: 'fail',
      message: `${limit.why}; running ${displayOf(cur)}`,
      fix: `upgrade to ${step ? displayOf(step) : `a ${series} release`} first`,
    });
  }
  if (!out.some((f) => f.id === 'zero-downtime')) {
    out.unshift({
      id: 'zero-downtime',
      level: 'ok',
      message: `zero-downtime migrations from ${displayOf(cur)} to ${displayOf(tgt)} are supported`,
    });
  }
  return out;
}

function postgresRule(tgt: MastodonVersion, reported: string | undefined): RuleFinding {
  const floor = POSTGRES_FLOORS.find((f) => atLeast(tgt, f.from));
  const t = displayOf(tgt);
  if (!floor) return { id: 'postgres-version', level: 'ok', message: `no PostgreSQL floor known for ${t}` };
  const need = `PostgreSQL ${floor.major}+${atLeast(tgt, [4, 3]) ? ' (not 14.0–14.3)' : ''}`;
  const pg = parseServerVersion(reported);
  if (!pg) {
    return {
      id: 'postgres-version',
      level: 'warn',
      message:
        `PostgreSQL version unknown${reported ? ` (${JSON.stringify(reported)})` : ''}: ` +
        `Mastodon ${t} needs ${need}`,
      fix: "check with `psql -c 'show server_version'` on the database host",
    };
  }
  const shown = `${pg[0]}.${pg[1]}`;
  if (pg[0] < floor.major) {
    return {
      id: 'postgres-version',
      level: 'fail',
      message: `PostgreSQL ${shown} is too old for Mastodon ${t}, which needs ${need}`,
      fix: `upgrade PostgreSQL to ${floor.major} or later first (pg_upgrade, or dump and restore), then retry`,
    };
  }
  if (pg[0] === 14 && pg[1] <= 3) {
    return {
      id: 'postgres-version',
      level: 'fail',
      message:
        `PostgreSQL ${shown} is refused by Mastodon 4.3 and later ` +
        '(14.0–14.3 can corrupt indexes built concurrently)',
      fix: 'update PostgreSQL to 14.4 or later, then reindex',
    };
  }
  return { id: 'postgres-version', level: 'ok', message: `PostgreSQL ${shown} meets ${need}` };
}

function redisRule(tgt: MastodonVersion, reported: string | undefined): RuleFinding {
  const floor = REDIS_FLOORS.find((f) => atLeast(tgt, f.from));
  const t = displayOf(tgt);
  if (!floor) return { id: 'redis-version', level: 'ok', message: `no Redis floor known for ${t}` };
  const need = `Redis ${floor.floor[0]}.${floor.floor[1]}+`;
  const redis = parseServerVersion(reported);
  if (!redis) {
    return {
      id: 'redis-version',
      level: 'warn',
      message: `Redis version unknown${reported ? ` (${JSON.stringify(reported)})` : ''}: Mastodon ${t} needs ${need}`,
      fix: 'check with `redis-cli INFO server` (redis_version)',
    };
  }
  const shown = `${redis[0]}.${redis[1]}`;
  const ok = redis[0] > floor.floor[0] || (redis[0] === floor.floor[0] && redis[1] >= floor.floor[1]);
  return ok
    ? { id: 'redis-version', level: 'ok', message: `Redis ${shown} meets ${need}` }
    : {
        id: 'redis-version',
        level: 'fail',
        message: `Redis ${shown} is too old for Mastodon ${t}, which needs ${need}`,
        fix: `upgrade Redis to ${floor.floor[0]}.${floor.floor[1]} or later first`,
      };
}

/** Every rule for current → target. Path rules (series, limits, floors, env) only run for an upgrade. */
export function planUpgradeRules(input: UpgradeRuleInput): RuleFinding[] {
  const cur = asMastodonVersion(input.current, 'current version');
  const tgt = asMastodonVersion(input.target, '--to');
  const avail = input.available.map((v) => asMastodonVersion(v, 'available version'));
  const findings = targetRules(input, cur, tgt, avail);
  if (compareMastodonVersions(tgt, cur) <= 0) return findings;
  findings.push(seriesRule(cur, tgt, avail), ...zeroDowntimeRules(cur, tgt, avail));
  findings.push(postgresRule(tgt, input.postgresVersion), redisRule(tgt, input.redisVersion));
  for (const r of envRequirementsCrossed(cur, tgt)) {
    findings.push({
      id: r.id,
      level: 'warn',
      message: `${r.message} (crossed by ${displayOf(cur)} → ${displayOf(tgt)})`,
      fix: r.fix,
    });
  }
  return findings;
}

export function hasFailures(findings: readonly RuleFinding[]): boolean {
  return findings.some((f) => f.level === 'fail');
}

interface TargetSuggestion {
  version: string;
  parsed: MastodonVersion;
  kind: 'patch' | 'next-series' | 'other';
  reason: string;
  /** False when a rule refuses it; `reason` then says why. */
  allowed: boolean;
}

/**
 * Targets for the interactive picker, most sensible first: the newest patch of
 * the current series, the newest patch of the next series, then every other
 * newer version (allowed ones first) with the reason it is or is not a good idea.
 */
export function suggestTargets(
  current: VersionLike,
  available: readonly VersionLike[],
  opts: { includePrerelease?: boolean } = {},
): TargetSuggestion[] {
  const cur = asMastodonVersion(current, 'current version');
  const avail = available.map((v) => asMastodonVersion(v, 'available version'));
  const allowPrerelease = Boolean(opts.includePrerelease);
  const candidates = sortMastodonVersions(
    avail.filter((v) => compareMastodonVersions(v, cur) > 0 && (v.stable || allowPrerelease)),
    'desc',
  ).filter((v, i, list) => i === 0 || compareMastodonVersions(v, list[i - 1]) !== 0);
  const suggest = (v: MastodonVersion, kind: TargetSuggestion['kind'], why: string): TargetSuggestion => {
    const refused = planUpgradeRules({ current: cur, target: v, available: avail, allowPrerelease }).find(
      (f) => f.level === 'fail',
    );
    const reason = !refused ? why : kind === 'other' ? refused.message : `${why}; refused: ${refused.message}`;
    return { version: displayOf(v), parsed: v, kind, allowed: !refused, reason };
  };
  const patch = newestStable(candidates, seriesOf(cur));
  const next = nextSeriesTarget(cur, avail);
  const headline: TargetSuggestion[] = [];
  if (patch)
    headline.push(
      suggest(patch, 'patch', `newest patch of ${seriesOf(cur)}: fixes and security updates within your series`),
    );
  if (next)
    headline.push(
      suggest(next, 'next-series', `newest patch of the next series ${seriesOf(next)}: one minor series at a time`),
    );
  const others = candidates
    .filter((v) => v !== patch && v !== next)
    .map((v) => {
      const newest = newestStable(avail, seriesOf(v));
      const why =
        v.stable && newest
          ? `older patch of ${seriesOf(v)} (newest: ${displayOf(newest)})`
          : `pre-release of ${seriesOf(v)}`;
      return suggest(v, 'other', why);
    });
  return [...headline, ...others.filter((s) => s.allowed), ...others.filter((s) => !s.allowed)];
}
