import type { VersionCatalog } from '../../targets/profile.js';
import { listMastodonVersions, type MastodonCatalog } from './catalog.js';
import { mastodonPublicProbes, upstreamOf } from './config.js';
import {
  composeDatabaseClients,
  deployedVersion,
  instanceVersion,
  mastodonHealth,
  readSchemaMark,
  redisVersion,
} from './host.js';
import { MASTODON_DOCTOR } from './doctor.js';
import { mastodonSchemaFit } from './migrations.js';
import { planUpgradeRules, suggestTargets } from './rules.js';
import { patchesCheck } from './patchesCheck.js';
import { verificationRequestsCheck } from './requestsCheck.js';
import { targetVersionCheck } from './targetVersionCheck.js';
import { describeVerification, verifyMastodon } from './verify.js';
import { compareMastodonVersions, parseMastodonVersion, tryParseMastodonVersion } from './version.js';
import type { ServiceProfile } from '../../targets/target.js';

function toCatalog(c: MastodonCatalog): VersionCatalog {
  return {
    warnings: c.warnings,
    versions: c.versions.map((v) => ({
      version: v.version,
      series: v.series,
      prerelease: v.prerelease,
      security: v.security,
      date: v.date,
      notes: v.notes?.text,
      current: v.isCurrent,
      newer: v.newer,
    })),
  };
}

/**
 * Mastodon, as social.coop runs it with Docker Compose: releases are the
 * upstream git tags with CHANGELOG.md, the running version is what the
 * instance API reports, and `.env.production` holds its encryption keys.
 */
export const mastodonProfile: ServiceProfile = {
  id: 'mastodon',
  hostVariables: [
    'mastodon_dir',
    'mastodon_web_bind',
    'mastodon_web_port',
    'mastodon_streaming_bind',
    'mastodon_streaming_port',
  ],
  dataDir: (vars) => vars('mastodon_dir') ?? '/opt/social.coop',
  database: { name: 'mastodon_production', tables: ['accounts', 'statuses', 'users'] },
  secretsFile: '.env.production',
  databaseClients: composeDatabaseClients,
  checks: [targetVersionCheck, patchesCheck, verificationRequestsCheck],
  doctor: MASTODON_DOCTOR,
  // source: https://docs.joinmastodon.org/admin/config/#prometheus (4.4+): MASTODON_PROMETHEUS_EXPORTER_ENABLED, the
  // exporter on PROMETHEUS_EXPORTER_PORT / MASTODON_PROMETHEUS_EXPORTER_PORT, default 9394
  // (mastodon/mastodon config/initializers/prometheus_exporter.rb)
  monitoring: { probes: mastodonPublicProbes, exporters: ['mastodon'], ownsHost: true },

  parseVersion: (text, source) => parseMastodonVersion(text, source).upstream,
  compareVersions: (a, b) => compareMastodonVersions(parseMastodonVersion(a), parseMastodonVersion(b)),
  deployInput: (version, patches) => ({
    variables: {
      mastodon_version: version,
      // the playbook builds `FROM` the upstream image with these applied, tagged v<version>-p<digest12>
      ...(patches && {
        mastodon_patches: patches.patches.map((p) => ({ name: p.name, files: p.touches })),
        mastodon_patch_digest: patches.set.digest,
      }),
    },
    // The texts as files (the playbook copies them with `src`): Ansible would template `{{` in a variable's value.
    ...(patches && {
      files: { mastodon_patch_src: patches.patches.map((p) => ({ name: p.name, content: p.content })) },
    }),
  }),

  runningVersion: (_context, t) => instanceVersion(t),
  deployedVersion: (t) => deployedVersion(t),
  health: (t) => mastodonHealth(t),

  async verify(t, version, opts) {
    const v = await verifyMastodon(t, version, {
      signal: opts.signal,
      expectations: (opts.patches?.patches ?? []).flatMap((p) => (p.expect ? [{ patch: p.name, ...p.expect }] : [])),
      onAttempt: (cs) => opts.onAttempt?.(cs.map((c) => `${c.ok ? '✓' : '✗'} ${c.message}`).join('  ')),
    });
    return { ok: v.ok, summary: describeVerification(v), checks: v.checks, details: { ...v } };
  },

  async listVersions(context, t, opts) {
    const url = context.gitUrl(upstreamOf(t));
    const key = `mastodon-catalog:${url}:${opts.current}:${opts.includePrerelease}:${opts.notes}`;
    const c = await context.once(key, () => listMastodonVersions({ runner: context.runner, url, ...opts }));
    return toCatalog(c);
  },

  async versionStatus(context, t) {
    const row = { version: null as string | null, latest: null as string | null, securityReleases: [] as string[] };
    const errors: string[] = [];
    const url = context.gitUrl(upstreamOf(t));
    const catalog = context.once(`mastodon-catalog:${url}`, () => {
      const p = listMastodonVersions({ runner: context.runner, url, notes: 'none' });
      p.catch(() => {});
      return p;
    });
    row.version = await instanceVersion(t).catch((err: Error) => {
      errors.push(err.message);
      return null;
    });
    try {
      const c = await catalog;
      const newest = c.versions.find((v) => !v.prerelease);
      row.latest = newest?.version ?? null;
      const cur = row.version ? tryParseMastodonVersion(row.version) : undefined;
      const newer = cur ? c.versions.filter((v) => !v.prerelease && compareMastodonVersions(v.parsed, cur) > 0) : [];
      row.securityReleases = newer.filter((v) => v.security).map((v) => v.version);
      return { ...row, behind: newer.length > 0, errors };
    } catch (err) {
      return { ...row, behind: false, errors: [...errors, `versions: ${(err as Error).message}`] };
    }
  },

  async versionChoice(context, t, { includePrerelease, facts }) {
    const current = await facts.runningVersion();
    const url = context.gitUrl(upstreamOf(t));
    const catalog = await listMastodonVersions({
      runner: context.runner,
      url,
      current,
      includePrerelease: true,
      notes: 'all',
    });
    const security = new Set(catalog.versions.filter((v) => v.security).map((v) => v.version));
    const suggestions = suggestTargets(
      current,
      catalog.versions.map((v) => v.parsed),
      { includePrerelease },
    ).map((s) => ({
      version: s.version,
      allowed: s.allowed,
      reason: s.reason,
      prerelease: !s.parsed.stable,
      security: security.has(s.version),
    }));
    return { current, catalog: toCatalog(catalog), suggestions };
  },

  async reviewChange(t, choice, to, { allowPrerelease, facts }) {
    const [pg, redis] = await Promise.all([
      facts.postgresVersion().catch(() => undefined),
      redisVersion(t).catch(() => undefined),
    ]);
    const findings = planUpgradeRules({
      current: choice.current,
      target: to,
      available: choice.catalog.versions.map((v) => v.version),
      postgresVersion: pg,
      redisVersion: redis,
      allowPrerelease,
      service: t.service,
      env: t.env,
    });
    const cur = parseMastodonVersion(choice.current, 'current version');
    const target = parseMastodonVersion(to, '--to');
    const notes = choice.catalog.versions
      .filter((v) => v.notes !== undefined)
      .filter((v) => {
        const p = parseMastodonVersion(v.version);
        return compareMastodonVersions(p, cur) > 0 && compareMastodonVersions(p, target) <= 0;
      })
      .map((v) => ({
        version: v.version,
        date: v.date,
        security: v.security,
        text: v.notes!,
        url: `https://github.com/mastodon/mastodon/releases/tag/v${v.version}`,
      }));
    return { notes, findings };
  },

  schemaMark: (remote, t) => readSchemaMark(remote, t),
  schemaFit: (context, t, older, newer) => mastodonSchemaFit(context, t, older, newer),
};
