import { z } from 'zod';
import { durationProblem, isSafeName, parseDuration } from '../kernel/validate.js';
import { calendarProblem } from './calendar.js';

/**
 * The shape of coopctl.yaml. Unknown keys are errors everywhere (strictObject),
 * so a typo never silently falls back to a default.
 */

export const name = z.string().refine(isSafeName, { error: 'must be a name of letters, digits, ".", "_" or "-"' });

/** A duration in the file (`30s`, `5m`, or seconds); a `timer` waits that long, a `span` is compared with ages. */
const durationOf = (kind: 'timer' | 'span') =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
    const problem = ms === undefined ? 'is not a duration (try 30s, 5m, 1h)' : durationProblem(ms, kind);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: `"${v}" ${problem}` });
      return z.NEVER;
    }
    return ms as number;
  });
const duration = durationOf('timer');
const span = durationOf('span');

/** Secrets are references resolved at use, never values in this file. */
const secretRef = z.union(
  [
    z.strictObject({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name') }),
    z.strictObject({ file: z.string().min(1) }),
    z.strictObject({ pass: z.string().regex(/^[\w./@-]+$/, 'must be a pass entry name') }),
  ],
  { error: 'a secret must be a reference: {env: VAR}, {file: PATH} or {pass: ENTRY}, never the value itself' },
);

const sshSchema = z.strictObject({
  /** The ssh_config to resolve hosts with (`ssh -F`); default: OpenSSH's own (~/.ssh/config). */
  config: z.string().optional(),
  /** Default: the UserKnownHostsFile of the ssh_config (~/.ssh/known_hosts). */
  knownHosts: z.string().optional(),
  /** Default: the GlobalKnownHostsFile of the ssh_config (/etc/ssh/ssh_known_hosts). */
  globalKnownHosts: z.string().optional(),
  /** A key used even when passphrase-protected (asked at a terminal when no agent runs). */
  identityFile: z.string().optional(),
  /** Ask the ssh-agent (SSH_AUTH_SOCK) for keys; the default when no identityFile is set. */
  agent: z.boolean().default(true),
  connectTimeout: duration.default(15_000),
  commandTimeout: duration.default(30 * 60_000),
  /**
   * Long data commands (dump, upload, restore test, restore) are not bounded by commandTimeout: they are stopped
   * when they have made no progress (bytes, the server's restore counters) for this long.
   */
  stallTimeout: duration.refine((ms) => ms >= 1000, { error: 'must be at least 1s' }).default(10 * 60_000),
  parallel: z.number().int().min(1).max(64).default(8),
});

// source: mastodon/mastodon app/models/account.rb USERNAME_RE `[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?` (case-insensitive)
/** An account WebFinger must resolve after a change, and the monitoring probes (src/services/federation.ts). */
const federationSchema = z.strictObject({
  account: z.string().regex(/^[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?$/i, 'must be a local username (admin), no @domain'),
  /** The domain of its address (`acct:ACCOUNT@DOMAIN`, LOCAL_DOMAIN); default: the host of `url`. */
  domain: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d+)?$/i, 'must be a domain name, as in acct:admin@social.coop')
    .optional(),
});

export const healthSchema = z.strictObject({
  /** Base URL the operator's machine probes (https://social.coop). */
  url: z.url(),
  timeout: duration.default(60_000),
  requestTimeout: duration.default(5_000),
  latencyMs: z.number().int().positive().default(2_000),
  requests: z.number().int().min(0).max(50).default(5),
  /** The API paths of those requests, each answered without a login (Mastodon: its profile's list by default). */
  requestPaths: z
    .array(z.string().regex(/^\/[^\s]*$/, 'a path on the instance, starting with /'))
    .min(1)
    .optional(),
  federation: federationSchema.optional(),
});

export const gitVersionSource = z.strictObject({
  type: z.literal('git'),
  url: z.string().min(1),
  changelog: z.string().default('CHANGELOG.md'),
});

export const databaseSchema = z.strictObject({
  /** The server: PostgreSQL (pg_dump, pg_restore) or MariaDB (mariadb-dump, mariadb; Keycloak and MediaWiki). */
  engine: z.enum(['postgres', 'mariadb']).default('postgres'),
  /** Default: the service profile's database name. */
  name: z.string().regex(/^\w+$/).optional(),
  user: z.string().regex(/^\w+$/).default('postgres'),
  /** The compose service running PostgreSQL; null runs the tools on the host itself. */
  container: z
    .string()
    .regex(/^[\w-]+$/)
    .nullable()
    .default('db'),
  /** Main tables whose row counts go into backup manifests and restore checks (default: the profile's). */
  tables: z.array(z.string().regex(/^\w+$/)).optional(),
});

// source: moby daemon/names/names.go:6-9 (v28.3.0): RestrictedNameChars `[a-zA-Z0-9][a-zA-Z0-9_.-]`, what a
// volume's name must match
/** The data volumes backed up with the database, named as in the recipe's compose file (`images`, `upload-data`). */
export const volumesSchema = z
  .array(
    z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a volume name as in the compose file (e.g. upload-data)'),
  )
  .refine((v) => new Set(v).size === v.length, { error: 'names a volume twice' });

/** Keys every service has, whatever its driver; a driver's schema adds its own (see src/drivers/*\/config.ts). */
export const serviceCommon = {
  /** What the application is (src/services/); default: the profile named like the service, if there is one. */
  profile: name.optional(),
  promotion: z.array(name).optional(),
  /** How long the version must have run in an environment before `promote` takes it to the next (default 24h). */
  soak: span.optional(),
  restoreOnFailure: z.enum(['auto', 'ask', 'never']).default('auto'),
};

/** Keys every environment has: where coopctl keeps its lock and history (an inventory host). */
export const environmentCommon = {
  inventory: z.string(),
  host: name,
};

/** How the rest of coopctl sees a service: the common keys; drivers read their own through their schema's type. */
export interface ServiceConfig {
  driver: string;
  profile?: string;
  promotion?: string[];
  /** ms */
  soak?: number;
  restoreOnFailure: 'auto' | 'ask' | 'never';
  versions?: z.output<typeof gitVersionSource>;
  database?: z.output<typeof databaseSchema>;
  /** Data volumes backed up with the database (abra apps: the swarm volume `<stack>_<name>`). */
  volumes?: string[];
  environments: Record<string, EnvironmentConfig>;
}

export interface EnvironmentConfig {
  inventory: string;
  host: string;
  health?: HealthConfig;
  /** Patches (paths relative to the config file) applied on top of the upstream version at every deploy. */
  patches?: string[];
}

const localStore = z.strictObject({ type: z.literal('local'), dir: z.string() });
const s3Store = z.strictObject({
  type: z.literal('s3'),
  endpoint: z.url().optional(),
  /** The endpoint as the service hosts reach it (backups go from the host to the store), when not `endpoint`. */
  hostEndpoint: z.url().optional(),
  region: z.string().default('us-east-1'),
  bucket: z.string().min(3),
  prefix: z.string().default('coopctl/'),
  forcePathStyle: z.boolean().default(false),
  accessKeyId: secretRef,
  secretAccessKey: secretRef,
  /** The smallest part of a multipart upload by a host (rclone's --s3-chunk-size), in bytes. */
  partSize: z
    .number()
    .int()
    .min(5 * 1024 * 1024)
    .default(16 * 1024 * 1024),
});
const storeSchema = z.discriminatedUnion('type', [localStore, s3Store], { error: 'type must be "local" or "s3"' });

export const backupSchema = z.strictObject({
  store: name.default('local'),
  stores: z.record(name, storeSchema).default({}),
  encryption: z
    .strictObject({
      /** age recipients (public keys): every operator who may restore. */
      recipients: z.array(z.string().regex(/^age1[0-9a-z]+$/, 'must be an age public key (age1...)')).min(1),
      /** Where the private key for verify/restore comes from. */
      identity: secretRef,
    })
    .optional(),
  retention: z
    .strictObject({
      keepLast: z.number().int().min(1).default(7),
      keepDailyDays: z.number().int().min(0).default(30),
      /** How long what runs leave behind (replaced databases, .partial files, unfinished uploads) is kept. */
      leftovers: span.optional(),
    })
    .prefault({}),
  /** Where `backup restore --into scratch` restores to: an inventory host with PostgreSQL. */
  restoreTest: z
    .strictObject({
      inventory: z.string(),
      host: name,
      database: databaseSchema.optional(),
      dataDir: z.string().optional(),
    })
    .optional(),
  requiredBeforeChange: z.boolean().default(true),
  /** The on-host copy of every backup taken on the host: a root-only directory outside the Docker volumes. */
  onHost: z
    .strictObject({
      /** The inventory's coopctl_backup_dir overrides it per host. */
      dir: z.string().startsWith('/', 'must be an absolute path').default('/var/backups/coopctl'),
      /** Copies kept per service×environment. */
      keep: z.number().int().min(1).default(2),
    })
    .prefault({}),
});

/** Where `{pass: ...}` secrets are looked up, when the environment does not say (paths relative to this file). */
const secretsSchema = z.strictObject({
  /** PASSWORD_STORE_DIR when it is unset (pass's default: ~/.password-store). */
  passwordStore: z.string().min(1).optional(),
  /** GNUPGHOME when it is unset (gpg's default: ~/.gnupg). */
  gnupgHome: z.string().min(1).optional(),
});

const checksSchema = z.strictObject({
  /** Free space needed on the data dir and /tmp, as a multiple of the database size. */
  diskHeadroom: z.number().positive().default(1.5),
  minFreeBytes: z
    .number()
    .int()
    .nonnegative()
    .default(1024 ** 3),
  ansibleMinVersion: z.string().default('2.14.0'),
});

const port = z.number().int().min(1).max(65535);
/** An http(s) URL without a user or password (it would show in the rendered config and in messages). */
const httpUrl = z
  .url({ protocol: /^https?$/ })
  .refine((u) => !new URL(u).username && !new URL(u).password, 'must not carry a user or password');
/** A span that Prometheus counts in whole seconds (its durations have no fractions finer than a millisecond). */
const wholeSeconds = (d: z.ZodType<number>) => d.refine((ms) => ms >= 1000 && ms % 1000 === 0, 'must be whole seconds');

/**
 * `coopctl monitor render`: Prometheus, the blackbox exporter and Alertmanager (Debian's packages) on one host,
 * watching every service × environment of this file. Each threshold's source is cited beside its rule
 * (src/monitoring/rules.ts).
 */
const monitoringSchema = z.strictObject({
  /** The host they run on: a host of this inventory, never a Mastodon host they watch. */
  inventory: z.string(),
  host: name,
  scrapeInterval: wholeSeconds(duration).default(60_000),
  /** How often each health URL is probed (the blackbox exporter's jobs). */
  probeInterval: wholeSeconds(duration).default(60_000),
  /** Where the exporters listen on the watched hosts (at their inventory address). */
  ports: z
    .strictObject({ node: port.default(9100), mastodon: port.default(9394), blackbox: port.default(9115) })
    .prefault({}),
  thresholds: z
    .strictObject({
      down: wholeSeconds(span).default(5 * 60_000),
      slow: wholeSeconds(span).default(10 * 60_000),
      tlsWarning: wholeSeconds(span).default(20 * 86_400_000),
      tlsCritical: wholeSeconds(span).default(3 * 86_400_000),
      diskFreeRatio: z.number().gt(0).lt(1).default(0.1),
      /** Warn when the disk's trend fills it within this long. */
      diskFillsWithin: wholeSeconds(span).default(21 * 86_400_000),
      sidekiqLatencyWarning: wholeSeconds(span).default(30_000),
      sidekiqLatencyCritical: wholeSeconds(span).default(120_000),
      rebootPending: wholeSeconds(span).default(86_400_000),
      backupAge: wholeSeconds(span).default(26 * 3_600_000),
      restoreTestAge: wholeSeconds(span).default(8 * 86_400_000),
    })
    .prefault({}),
  alertmanager: z
    .strictObject({
      /** Where Alertmanager posts alerts (a relay to the operators' room); none: alerts are only kept. */
      webhook: httpUrl.optional(),
      /** Alertmanager's API as coopctl reaches it (http://127.0.0.1:9093): a change silences its service's alerts. */
      url: httpUrl.optional(),
      /** The longest a change's silence lasts: it ends with the change, or by itself after this if coopctl dies. */
      silenceFor: span.default(2 * 3_600_000),
    })
    .prefault({}),
});

/** An OnCalendar expression of the weekly subset src/config/calendar.ts parses (systemd.time(5)). */
const onCalendar = z.string().superRefine((v, ctx) => {
  const problem = calendarProblem(v);
  if (problem)
    ctx.addIssue({ code: 'custom', message: `"${v}" is not an OnCalendar expression coopctl takes: ${problem}` });
});
const timerSchema = (onCal: string, delay: number) =>
  z
    .strictObject({
      onCalendar: onCalendar.default(onCal),
      /** systemd.timer(5) RandomizedDelaySec: spreads the start; freshness allows for it (grace). */
      randomizedDelay: span.default(delay),
    })
    .prefault({});

/**
 * `coopctl schedule`: systemd timers on one host (through playbooks/schedule.yml) that back up every scheduled
 * service × environment and restore-test its newest backup; `status` judges their freshness from the backups.
 */
const scheduleSchema = z.strictObject({
  /** The host the timers run on: coopctl is installed there, with its own SSH key and a restore-test identity. */
  inventory: z.string(),
  host: name,
  /** The play that installs them (the repository's playbooks/schedule.yml, beside the Mastodon playbook). */
  playbook: z.string().default('playbooks/schedule.yml'),
  /** The system user the units run as (created by the play). */
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]*$/, 'must be a user name')
    .default('coopctl'),
  backup: timerSchema('*-*-* 03:15:00', 30 * 60_000),
  restoreTest: timerSchema('Sun *-*-* 05:00:00', 60 * 60_000),
  /** SERVICE/ENV pairs; default: every environment of every service with a database. */
  targets: z.array(z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'must be SERVICE/ENV')).optional(),
  /** After each scheduled backup, `backup prune --yes` of its service × environment (backup.retention). */
  prune: z.boolean().default(true),
  /** Stale when the newest is older than the timer's period + this (runs take time, and start late by the delay). */
  grace: span.default(6 * 3_600_000),
  /** The age identity the host's restore tests decrypt with: one of backup.encryption.recipients, its own. */
  identity: secretRef.optional(),
});

/** The service schemas come from the drivers (their registration), so a new driver is no edit here. */
export type ServiceSchema = z.ZodObject<{ driver: z.ZodLiteral<string> } & z.ZodRawShape>;

export function configSchemaFor(services: readonly ServiceSchema[]) {
  const service =
    services.length === 1
      ? services[0]
      : z.discriminatedUnion('driver', services as unknown as [ServiceSchema, ...ServiceSchema[]], {
          error: `driver must be ${services.map((s) => `"${s.shape.driver.value}"`).join(' or ')}`,
        });
  return z.strictObject({
    /** Where history and locks live on each host, unless the inventory sets coopctl_state_dir. */
    stateDir: z.string().default('/var/lib/coopctl'),
    ssh: sshSchema.prefault({}),
    abra: z
      .strictObject({
        bin: z.string().default('abra'),
        dir: z.string().optional(),
        /** Push the servers repository after committing an app's new version pin (abra's servers/SERVER). */
        push: z.boolean().default(false),
      })
      .prefault({}),
    backup: backupSchema.prefault({}),
    secrets: secretsSchema.prefault({}),
    checks: checksSchema.prefault({}),
    /** Notices in the operators' Matrix room when a change starts and ends (src/notify/matrix.ts). */
    notify: z
      .strictObject({
        matrix: z
          .strictObject({
            /** The homeserver's client-server base URL (https://matrix.org), not the server name. */
            homeserver: z.url(),
            /** A room id (!abc:server) or alias (#room:server, resolved through the room directory). */
            room: z.string().regex(/^[!#][^:\s]+:\S+$/, 'must be a room id (!id:server) or alias (#name:server)'),
            /** The access token of the account that posts (a bot user joined to the room). */
            token: secretRef,
            /** How long one request may take; a post is tried 3 times, then it is a warning. */
            timeout: duration.default(5_000),
          })
          .optional(),
      })
      .prefault({}),
    monitoring: monitoringSchema.optional(),
    schedule: scheduleSchema.optional(),
    services: z.record(name, service as unknown as z.ZodType<ServiceConfig>),
  });
}

export type Config = z.output<ReturnType<typeof configSchemaFor>>;
export type HealthConfig = z.output<typeof healthSchema>;
export type FederationConfig = z.output<typeof federationSchema>;
export type StoreConfig = z.output<typeof storeSchema>;
export type MonitoringConfig = z.output<typeof monitoringSchema>;
export type ScheduleConfig = z.output<typeof scheduleSchema>;
