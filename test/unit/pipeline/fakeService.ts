import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { environmentCommon, name, serviceCommon } from '../../../src/config/schema.js';
import { InputError } from '../../../src/kernel/errors.js';
import { fail, pass } from '../../../src/targets/check.js';
import type { VersionEntry } from '../../../src/targets/profile.js';
import type { Check, Driver, SafetyBackups, ServiceProfile } from '../../../src/targets/target.js';

/**
 * A made-up service (a boost bot) with a made-up way of deploying it (a
 * "shell" driver): no Mastodon, no abra. Its state is three files in its
 * data dir: `version` (what runs), `schema` (the migrations that ran, one
 * per line) and `data` (what its users wrote). What breaks is switched on
 * in `faults`.
 */
export interface Faults {
  refuse?: boolean;
  failBackup?: boolean;
  /** Runs inside the safety backup, before it fails or succeeds (a test's hook). */
  duringBackup?: () => Promise<void>;
  /** Deploying these versions migrates, then fails. */
  failDeploy: Set<string>;
  /** These versions never verify healthy. */
  unhealthy: Set<string>;
  /** Runs inside a deploy, after it migrated (a test's hook: interrupt, steal the lock). */
  duringDeploy?: (version: string) => Promise<void>;
  /** Deploying these versions stops at a check of its own before it changes anything. */
  refuseDeploy?: Set<string>;
  /** The migrations of these versions are ones the version before runs on (pre-deployment ones). */
  compatibleMigrations?: Set<string>;
  /** Runs inside a restore, before its copy is checked (a test's hook: a member writes). */
  duringRestore?: () => Promise<void>;
  /** The restored copy does not match its backup: the restore stops before it replaces anything. */
  restoreMismatch?: boolean;
}

export const RELEASES = ['1.0.0', '1.1.0', '1.2.0', '2.0.0'];

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');
const compare = (a: string, b: string) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

export function fakeService(faults: Faults, backupDir: string) {
  const configSchema = z.strictObject({
    driver: z.literal('shell'),
    ...serviceCommon,
    environments: z.record(name, z.strictObject({ ...environmentCommon })),
  });

  const backups: SafetyBackups = {
    describe: () => 'data + schema files',
    async create(t, version, ctx) {
      await faults.duringBackup?.();
      if (faults.failBackup) throw new Error('the backup disk is full');
      const id = `backup-${version}-${Date.now()}`;
      mkdirSync(path.join(backupDir, id), { recursive: true });
      for (const f of ['data', 'schema']) writeFileSync(path.join(backupDir, id, f), read(t.paths.dataDir, f));
      ctx.report(`copied to ${id}`);
      return { id, summary: `${id}, verified` };
    },
    async restore(t, id, _ctx, reach) {
      await faults.duringRestore?.();
      if (faults.restoreMismatch) throw new Error(`backup ${id} restored, but row counts differ from the manifest`);
      Object.assign(reach, { appStopped: true, dataReplaced: true });
      const kept = `data.before-${Date.now()}`;
      writeFileSync(path.join(t.paths.dataDir, kept), read(t.paths.dataDir, 'data'));
      for (const f of ['data', 'schema'])
        writeFileSync(path.join(t.paths.dataDir, f), read(path.join(backupDir, id), f));
      return { live: 'data', previous: kept };
    },
  };

  const driver: Driver = {
    id: 'shell',
    configSchema,
    checks: [],
    describeDeploy: (v) => `Install ${v}`,
    safetyBackups: () => backups,
    async deploy(_ws, t, req) {
      if (faults.refuseDeploy?.has(req.version))
        return {
          ok: false,
          summary: 'refused',
          failure: 'the bot token is missing',
          changedNothing: true,
          details: {},
        };
      // Real commands on the (local) host: the version file, and the migration once per version.
      const script = 'printf %s "$1" > "$2/version"; grep -qx "$1" "$2/schema" || echo "$1" >> "$2/schema"';
      await t.remote.exec(['sh', '-c', script, 'install', String(req.variables.BOT_VERSION), t.paths.dataDir], {
        mutates: true,
      });
      req.report(`installed ${req.version}`);
      await faults.duringDeploy?.(req.version);
      if (faults.failDeploy.has(req.version)) {
        return { ok: false, summary: 'failed', failure: `migrating to ${req.version} failed`, details: { ok: false } };
      }
      return { ok: true, summary: `${req.version} installed`, details: { ok: true } };
    },
    async stopServices() {},
  };

  const refusal: Check = {
    id: 'bot-queue',
    async run() {
      return faults.refuse
        ? fail('the bot still has 12 posts queued', 'wait for the queue to drain')
        : pass('queue empty');
    },
  };

  const entry = (version: string, current: string | undefined): VersionEntry => ({
    version,
    series: version.split('.')[0],
    prerelease: false,
    security: false,
    notes: `Changes in ${version}`,
    current: version === current,
    newer: current !== undefined && compare(version, current) > 0,
  });

  const profile: ServiceProfile = {
    id: 'boost-bot',
    hostVariables: ['bot_dir'],
    dataDir: (vars) => vars('bot_dir'),
    databaseClients: async () => ['bot'],
    checks: [refusal],
    parseVersion(text, source) {
      if (!RELEASES.includes(text)) throw new InputError(`${source}: ${text} is not a release of the bot`);
      return text;
    },
    compareVersions: compare,
    deployInput: (version) => ({ variables: { BOT_VERSION: version } }),
    runningVersion: async (_ws, t) => read(t.paths.dataDir, 'version'),
    health: async () => ({ healthy: true, latencyMs: 1 }),
    async verify(t, version, opts) {
      const running = read(t.paths.dataDir, 'version');
      const ok = running === version && !faults.unhealthy.has(version);
      const checks = [
        { id: 'version', ok, message: `runs ${running}${faults.unhealthy.has(version) ? ', crashing' : ''}` },
      ];
      opts.onAttempt?.(checks[0].message);
      return {
        ok,
        summary: ok ? `healthy at ${version}` : `not healthy: ${checks[0].message}`,
        checks,
        details: { running, ok },
      };
    },
    listVersions: async (_ws, _t, opts) => ({
      versions: RELEASES.map((v) => entry(v, opts.current)).reverse(),
      warnings: [],
    }),
    async versionStatus(_ws, t) {
      const version = read(t.paths.dataDir, 'version');
      return {
        version,
        latest: RELEASES.at(-1)!,
        behind: version !== RELEASES.at(-1),
        securityReleases: [],
        errors: [],
      };
    },
    async versionChoice(_ws, _t, { facts }) {
      const current = await facts.runningVersion();
      const versions = RELEASES.map((v) => entry(v, current)).reverse();
      const suggestions = versions.filter((v) => v.newer).map((v) => ({ ...v, allowed: true, reason: 'newer' }));
      return { current, catalog: { versions, warnings: [] }, suggestions };
    },
    async reviewChange(_t, choice, to) {
      const notes = choice.catalog.versions
        .filter((v) => v.newer && compare(v.version, to) <= 0)
        .map((v) => ({ version: v.version, security: false, text: v.notes! }));
      const major = to.split('.')[0] !== choice.current.split('.')[0];
      return { notes, findings: major ? [{ id: 'major', level: 'warn', message: 'a new major version' }] : [] };
    },
    async schemaMark(_remote, t) {
      const lines = read(t.paths.dataDir, 'schema').trim().split('\n');
      return { count: lines.length, newest: lines.at(-1)! };
    },
    async schemaFit(_ws, t, older, newer) {
      const ran = read(t.paths.dataDir, 'schema').trim().split('\n');
      const extra = ran.slice(ran.indexOf(older) + 1);
      const fits = extra.every((v) => faults.compatibleMigrations?.has(v));
      return {
        fits,
        reason: `${newer}'s migrations ran${fits ? `, which ${older} runs on` : ''}`,
        pre: [],
        post: [],
        unknown: [],
      };
    },
  };
  return { driver, profile };
}
