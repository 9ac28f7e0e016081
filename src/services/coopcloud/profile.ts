import { errorMessage, InputError } from '../../kernel/errors.js';
import { abraApp, abraClient, abraConfig } from '../../drivers/abra/app.js';
import {
  compareRecipeVersions,
  isOrdered,
  parseRecipeVersion,
  type OrderedRecipeVersion,
} from '../../drivers/abra/recipeVersion.js';
import type { AbraApp } from '../../drivers/abra/appList.js';
import type { Finding, VersionEntry } from '../../targets/profile.js';
import type { ServiceProfile, Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';
import { releaseNotePath } from '../../drivers/abra/recipeTags.js';
import { keycloakUsers } from './keycloakUsers.js';
import { composeOverlaysCheck, overlayFindings } from './overlays.js';
import { appSchemaMark } from './schema.js';
import { ssoCheck } from './sso.js';
import { appHealth, appPublicProbes, verifyApp } from './verify.js';

function ordered(text: string, source: string): OrderedRecipeVersion {
  const v = parseRecipeVersion(text);
  if (!v || !isOrdered(v)) {
    throw new InputError(
      `${source}: ${JSON.stringify(text)} is not a recipe version (expected e.g. 2.0.1+1.0.6-social-amd64)`,
    );
  }
  return v;
}

/** How a chaos deploy (a checkout, not a release) reads: the version label plus the commit. */
function chaosText(app: AbraApp | undefined): string | undefined {
  return app?.chaos ? `${app.version ?? 'unknown label'} plus commit ${app.chaosVersion ?? 'unknown'}` : undefined;
}

/**
 * An upgrade from a chaos deploy drops the commits of its checkout that the target release lacks (a fork's own
 * changes: the wiki's SSO): they are listed, and the upgrade is refused unless `--from-chaos` says to drop them.
 */
async function fromChaos(
  context: RunContext,
  t: Target,
  current: string,
  commit: string,
  to: string,
  allowed: boolean,
) {
  const { recipe } = abraConfig(t);
  const head = commit.replace(/\+U$/, '');
  const missing = await abraClient(context).recipes.commitsNotIn(recipe, head, to);
  const lost = [
    missing === undefined
      ? `commit ${head} is not in abra's clone of ${recipe}, so what ${to} lacks cannot be listed (fetch the fork)`
      : missing.length
        ? `${missing.length} commit(s) of its checkout are not in ${to}: ${missing.join('; ')}`
        : undefined,
    commit.endsWith('+U') ? 'it was deployed with uncommitted changes (+U), which no commit holds' : undefined,
  ].filter(Boolean);
  const recordFields = { fromChaos: { label: current, commit, dropped: missing ?? null } };
  if (!lost.length) return { findings: [], recordFields };
  const message = `${t.service}/${t.env} is a chaos deploy (${current} plus commit ${commit}): ${lost.join('; ')}`;
  if (!allowed) {
    throw new InputError(`${message}; an upgrade to ${to} drops them: refused without --from-chaos`, {
      code: 'from-chaos',
      hints: [`carry them into a release first, or pass --from-chaos to deploy ${to} without them`],
    });
  }
  const finding: Finding = { id: 'from-chaos', level: 'warn', message: `${message}; --from-chaos: not deployed` };
  return { findings: [finding], recordFields };
}

/**
 * A Co-op Cloud app: its releases are the recipe's tags (`<semver>+<upstream>`),
 * with notes in the recipe's `release/` files; the deployed version is the
 * stack's label as `abra app ls` reports it. Bonfire, Keycloak and MediaWiki
 * use this profile until they need one of their own.
 */
export const coopcloudAppProfile: ServiceProfile = {
  id: 'coopcloud-app',
  hostVariables: [],
  dataDir: () => undefined,
  databaseClients: async () => ['app'],
  // Keycloak by its recipe: the tables counted are Keycloak's, whichever services name it as their sso provider
  restoreFacts: (t) => (abraConfig(t).recipe === 'keycloak' ? keycloakUsers : undefined),
  checks: [composeOverlaysCheck, ssoCheck],

  parseVersion: (text, source) => ordered(text, source).text,
  compareVersions: (a, b) => compareRecipeVersions(ordered(a, 'version'), ordered(b, 'version')),
  deployInput: () => ({ variables: {} }),

  async runningVersion(context, t) {
    if (!t.driver.deployedVersion)
      throw new InputError(`${t.service}: ${t.driver.id} cannot tell the deployed version`);
    return t.driver.deployedVersion(context, t);
  },

  health: appHealth,
  monitoring: { probes: appPublicProbes, exporters: [], ownsHost: false },

  verify: (t, version, opts) => verifyApp(opts.context, t, version, opts),

  schemaMark: appSchemaMark,

  async listVersions(context, t, opts) {
    const { recipe } = abraConfig(t);
    const abra = abraClient(context);
    const chaos = chaosText(await abraApp(context, t).catch(() => undefined));
    const warnings = chaos ? [`${t.service}/${t.env} runs a chaos deploy, not a release: ${chaos}`] : [];
    const releases = await abra.recipeVersions(recipe);
    const cur = opts.current ? parseRecipeVersion(opts.current) : undefined;
    const newest = releases.at(-1)?.version ?? opts.current;
    const notes =
      opts.notes !== 'none' && opts.current && newest ? await abra.releaseNotes(recipe, opts.current, newest) : [];
    const versions: VersionEntry[] = [...releases].reverse().map((r) => ({
      version: r.version,
      series: r.parsed.kind === 'release' ? r.parsed.semver.split('.')[0] : '',
      prerelease: false,
      security: false,
      date: r.date,
      notes: notes.find((n) => n.version === r.version)?.notes,
      current: r.version === opts.current,
      newer: cur !== undefined && isOrdered(cur) ? compareRecipeVersions(r.parsed, cur) > 0 : false,
    }));
    return { versions, warnings };
  },

  async versionStatus(context, t) {
    const { server, domain } = abraConfig(t);
    const status = {
      version: null as string | null,
      latest: null as string | null,
      behind: false,
      securityReleases: [],
    };
    try {
      const app = await abraApp(context, t);
      if (!app) return { ...status, errors: [`abra does not know ${domain} on ${server}`] };
      const version = app.version ?? null;
      if (app.chaos) return { ...status, version, chaos: `commit ${app.chaosVersion ?? 'unknown'}`, errors: [] };
      if (app.upgrade?.kind === 'available') {
        const sorted = app.upgrade.versions
          .map(parseRecipeVersion)
          .filter((v) => v !== undefined)
          .filter(isOrdered)
          .sort(compareRecipeVersions);
        return {
          ...status,
          version,
          latest: sorted.at(-1)?.text ?? app.upgrade.versions.at(-1) ?? null,
          behind: true,
          errors: [],
        };
      }
      return { ...status, version, latest: app.upgrade?.kind === 'latest' ? version : null, errors: [] };
    } catch (err) {
      return { ...status, errors: [`abra: ${errorMessage(err)}`] };
    }
  },

  async versionChoice(context, t, { facts }) {
    const current = await facts.runningVersion();
    const catalog = await this.listVersions(context, t, { current, includePrerelease: false, notes: 'all' });
    const suggestions = catalog.versions
      .filter((v) => v.newer)
      .reverse()
      .map((v) => ({
        version: v.version,
        allowed: true,
        reason: 'newer recipe release',
        prerelease: false,
        security: false,
      }));
    const app = await abraApp(context, t);
    return { current, catalog, suggestions, ...(app?.chaos ? { chaos: { commit: app.chaosVersion ?? '' } } : {}) };
  },

  async reviewChange(t, choice, to, { context, fromChaos: allowed }) {
    const target = ordered(to, '--to');
    if (!choice.catalog.versions.some((v) => v.version === to)) {
      const known = choice.catalog.versions.map((v) => v.version).join(', ');
      throw new InputError(`--to: ${to} is not a release of recipe ${abraConfig(t).recipe} (known: ${known})`, {
        hints: [`a newer one may not be fetched yet: abra recipe fetch ${abraConfig(t).recipe}`],
      });
    }
    const notes = choice.catalog.versions
      .filter((v) => v.newer && compareRecipeVersions(ordered(v.version, 'version'), target) <= 0)
      .map((v) => ({
        version: v.version,
        date: v.date,
        security: false,
        text: v.notes ?? '(the recipe has no release note for this version)',
        url: `${abraConfig(t).recipe}: ${releaseNotePath(v.version)}`,
      }));
    const current = ordered(choice.current, 'current version');
    const findings: Finding[] =
      compareRecipeVersions(target, current) > 0
        ? [{ id: 'newer', level: 'ok' as const, message: `${choice.current} → ${to}` }]
        : [{ id: 'downgrade', level: 'fail' as const, message: `${to} is not newer than ${choice.current}` }];
    if (compareRecipeVersions(target, current) > 0)
      findings.push(...(await overlayFindings(context, t, choice.current, to)));
    if (!choice.chaos) return { notes, findings };
    const chaos = await fromChaos(context, t, choice.current, choice.chaos.commit, to, !!allowed);
    return { notes, findings: [...chaos.findings, ...findings], recordFields: chaos.recordFields };
  },
};
