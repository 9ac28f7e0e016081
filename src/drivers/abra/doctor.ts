import { existsSync } from 'node:fs';
import path from 'node:path';
import { volumeSizes } from '../../backup/volumes.js';
import { firstLine, installed } from '../../checks/doctor/tools.js';
import { mapLimit } from '../../kernel/concurrency.js';
import { errorMessage, InputError } from '../../kernel/errors.js';
import { formatBytes } from '../../kernel/validate.js';
import { type DoctorFinding, finding } from '../../targets/doctor.js';
import type { DoctorProbe, Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';
import { abraApp, abraClient, abraConfig } from './app.js';
import { isBackupBot } from './backupCheck.js';
import { stripAnsi } from './cli.js';
import { ABRA_COMMANDS } from './client.js';
import { AbraError } from './errors.js';
import { type SwarmService, stackName, stackServices } from './swarm.js';

/**
 * The flags a cobra `--help` lists, under "Flags:" and "Global Flags:": pflag prints each as `  -c, --long ...`
 * or `      --long ...` (spf13/pflag flag.go, FlagUsagesWrapped; spf13/cobra command.go, defaultUsageTemplate).
 */
export function helpFlags(text: string): Set<string> {
  const flags = new Set<string>();
  for (const m of stripAnsi(text).matchAll(/^\s+(?:-([A-Za-z0-9]), )?--([A-Za-z0-9][\w-]*)/gm)) {
    if (m[1]) flags.add(`-${m[1]}`);
    flags.add(`--${m[2]}`);
  }
  return flags;
}

/** A database service's image (`postgres:15-alpine`, `ghcr.io/x/postgis:17-3.5@sha256:...`) → engine and version. */
export function databaseImage(image: string): { engine: string; version?: string } | undefined {
  const ref = image.split('@')[0];
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const repo = colon > slash ? ref.slice(0, colon) : ref;
  const tag = colon > slash ? ref.slice(colon + 1) : '';
  const name = repo.slice(repo.lastIndexOf('/') + 1).toLowerCase();
  const engine = (
    { postgres: 'PostgreSQL', postgis: 'PostgreSQL', mariadb: 'MariaDB', mysql: 'MySQL', mongo: 'MongoDB' } as const
  )[name as 'postgres'];
  if (!engine) return undefined;
  const version = /^(\d+(?:\.\d+){0,2})/.exec(tag)?.[1];
  return { engine, ...(version ? { version } : {}) };
}

/** The swarm's services on a Co-op Cloud server, read once per run for all its probes. */
function swarmServices(context: RunContext, t: Target): Promise<SwarmService[]> {
  return context.once(`doctor-swarm:${t.host.name}`, () => stackServices(t.remote));
}

const abraProbe: DoctorProbe = {
  id: 'abra',
  scope: 'local',
  async run({ context }) {
    const abra = abraClient(context);
    const { bin } = context.config.abra;
    const assumes = `abra (${bin}) answers \`abra --version\`; coopctl drives it as a child process`;
    try {
      const v = await abra.abraVersion();
      const found = `${firstLine(v.raw)} (version ${v.version})`;
      return [finding('abra', 'abra', 'ok', { found, assumes, action: 'runs it with -n, never at a prompt' })];
    } catch (err) {
      const missing = err instanceof InputError && err.code === 'missing-tool';
      return [
        finding('abra', 'abra', missing || err instanceof AbraError ? 'fail' : 'unknown', {
          found: firstLine(errorMessage(err)),
          assumes,
          action: 'the Co-op Cloud apps cannot be read or changed: install abra, or set abra.bin',
        }),
      ];
    }
  },
};

/** What `abra WORDS --help` says of the flags coopctl passes: all listed, some not, or no such command. */
export function helpVerdict(
  cmd: { words: readonly string[]; flags: readonly string[] },
  help: string,
): { status: 'ok' | 'fail' | 'unknown'; found: string; action: string } {
  const line = `abra ${cmd.words.join(' ')}`;
  const text = stripAnsi(help);
  const listed = helpFlags(text);
  if (!listed.size) {
    const found = `no flags in \`${line} --help\`: ${firstLine(text)}`;
    return { status: 'unknown', found, action: 'its flags could not be checked' };
  }
  // cobra answers `--help` of a subcommand it does not have with its parent's help
  const usage = /^Usage:\s*\n\s*(.*)$/m.exec(text)?.[1];
  if (usage !== undefined && !usage.startsWith(`${line} `) && usage !== line) {
    const found = `\`${line} --help\` shows another command: ${firstLine(usage)}`;
    return { status: 'fail', found, action: `\`${line}\` fails: this abra has no such command; report it in an issue` };
  }
  const missing = cmd.flags.filter((f) => !listed.has(f));
  if (!missing.length) return { status: 'ok', found: `--help lists ${cmd.flags.join(', ')}`, action: 'passes them' };
  return {
    status: 'fail',
    found: `--help lists no ${missing.join(', ')}`,
    action: `\`${line}\` with ${missing.join(', ')} would fail (unknown flag): report this abra version in an issue`,
  };
}

/** Every abra subcommand coopctl runs lists, in its --help, every flag coopctl passes to it. */
const abraFlagsProbe: DoctorProbe = {
  id: 'abra-flags',
  scope: 'local',
  async run({ context }) {
    const abra = abraClient(context);
    return mapLimit(Object.values(ABRA_COMMANDS), 3, async (cmd) => {
      const line = `abra ${cmd.words.join(' ')}`;
      const assumes = `coopctl runs \`${line}\` with ${cmd.flags.join(' ')}`;
      const r = await installed(abra.cli.run([...cmd.words, '--help'], { mutates: false, timeoutMs: 60_000 })).catch(
        (err: unknown) => ({ error: firstLine(errorMessage(err)) }),
      );
      if (!r || 'error' in r) {
        const found = r ? r.error : 'abra is not installed';
        return finding('abra-flags', line, 'unknown', { found, assumes, action: 'its flags could not be checked' });
      }
      const v = helpVerdict(cmd, `${r.stdout}\n${r.stderr}`);
      return finding('abra-flags', line, v.status, { found: v.found, assumes, action: v.action });
    });
  },
};

/** Whether a directory is in a git work tree, and how many changes it has there. */
async function gitState(context: RunContext, dir: string): Promise<{ top: string; changes: number } | undefined> {
  const git = (args: string[]) => context.runner.run('git', ['-C', dir, ...args], { mutates: false, reject: false });
  const top = await git(['rev-parse', '--show-toplevel']);
  if (top.exitCode !== 0) return undefined;
  const status = await git(['--no-optional-locks', 'status', '--porcelain', '--', '.']);
  return { top: top.stdout.trim(), changes: status.stdout.split('\n').filter((l) => l.trim()).length };
}

/** abra's directory ($ABRA_DIR), and each server's app configs in it, shared by the operators through git. */
const abraDirProbe: DoctorProbe = {
  id: 'abra-dir',
  scope: 'local',
  async run({ context, targets }) {
    const dir = abraClient(context).cli.abraDir;
    const out: DoctorFinding[] = [];
    const assumes =
      'abra keeps servers/SERVER/DOMAIN.env and recipes/ there; coopctl reads them, and commits the pin abra writes';
    if (!existsSync(dir)) {
      const found = `${dir} does not exist`;
      return [finding('abra-dir', 'abra dir', 'fail', { found, assumes, action: 'set abra.dir, or ABRA_DIR' })];
    }
    out.push(finding('abra-dir', 'abra dir', 'ok', { found: dir, assumes, action: 'reads the app configs there' }));
    for (const server of [...new Set(targets.map((t) => abraConfig(t).server))]) {
      const servers = path.join(dir, 'servers', server);
      const what = `servers/${server}`;
      const shared =
        `the app configs in ${servers} are the operators' shared git checkout (social.coop's is): ` +
        'coopctl reads the env files as they are there';
      if (!existsSync(servers)) {
        const action = `the apps of ${server} cannot be read: add the server to abra (abra server add)`;
        out.push(
          finding('abra-servers', what, 'fail', { found: `${servers} does not exist`, assumes: shared, action }),
        );
        continue;
      }
      const g = await gitState(context, servers);
      if (!g) {
        const action = 'reads them as they are; nobody else sees a change made here: keep them in git';
        out.push(
          finding('abra-servers', what, 'warn', {
            found: `${servers}: not in a git repository`,
            assumes: shared,
            action,
          }),
        );
        continue;
      }
      const changes = g.changes ? `, ${g.changes} uncommitted change(s)` : ', clean';
      out.push(
        finding('abra-servers', what, g.changes ? 'warn' : 'ok', {
          found: `git repository ${g.top}${changes}`,
          assumes: shared,
          action: g.changes
            ? 'reads them with those changes, which no other operator has: commit and push them'
            : 'reads them as committed (it never pulls: preflight warns when behind); commits each new pin',
        }),
      );
    }
    return out;
  },
};

/** backup-bot-two, which `abra app backup` runs in: needed for the apps coopctl does not dump itself. */
const backupBotProbe: DoctorProbe = {
  id: 'backup-bot-two',
  scope: 'host',
  async run({ context, target, targets }) {
    const bots = (await swarmServices(context, target)).filter(isBackupBot);
    const relying = targets.filter((t) => !t.database).map((t) => `${t.service}/${t.env}`);
    const assumes = relying.length
      ? `the safety backups of ${relying.join(', ')} are \`abra app backup create\`, which runs in backup-bot-two`
      : 'coopctl dumps the database of every app here itself (database: in coopctl.yaml): it does not need it';
    if (bots.length) {
      const found = bots.map((b) => `${b.name} ${b.image ?? ''} ${b.running}/${b.desired}`).join('; ');
      const up = bots.some((b) => b.running > 0);
      const status = up || !relying.length ? 'ok' : 'fail';
      const action = up ? 'takes abra snapshots through it' : 'abra app backup fails while it runs no task';
      return [finding('backup-bot-two', target.host.name, status, { found, assumes, action })];
    }
    const found = 'no swarm service of backup-bot-two';
    const action = relying.length
      ? `the safety backup of ${relying.join(', ')} fails, so their changes stop before anything changes: ` +
        'deploy backup-bot-two, or configure database: for them'
      : 'dumps each app database itself';
    return [finding('backup-bot-two', target.host.name, relying.length ? 'fail' : 'ok', { found, assumes, action })];
  },
};

/** The deployed version abra reports, and whether it is a chaos deploy (a working tree, not a release). */
const appProbe: DoctorProbe = {
  id: 'abra-app',
  scope: 'target',
  async run({ context, target: t }) {
    const { server, domain } = abraConfig(t);
    const app = await abraApp(context, t);
    const subject = `${t.service}/${t.env}`;
    const assumes = `\`abra app ls -S -m -s ${server}\` reports ${domain} deployed, with its release label`;
    if (app?.status !== 'deployed') {
      const found = app ? `${domain} is ${app.status ?? 'in an unknown state'}` : `abra does not list ${domain}`;
      return [
        finding('abra-app', subject, 'fail', { found, assumes, action: 'upgrades refuse it (preflight abra-app)' }),
      ];
    }
    if (!app.version) {
      const found = `${domain} deployed, version unknown`;
      return [
        finding('abra-app', subject, 'unknown', { found, assumes, action: 'cannot tell what an upgrade starts from' }),
      ];
    }
    if (app.chaos) {
      return [
        finding('abra-app', subject, 'warn', {
          found: `${domain}: a chaos deploy (${app.chaosVersion ?? 'unknown commit'}), label ${app.version}`,
          assumes,
          action:
            "an upgrade lists this checkout's commits the release lacks and refuses without --from-chaos; with it, " +
            `\`abra app deploy ${domain} VERSION -f -n\` deploys the release, not those commits`,
        }),
      ];
    }
    const action = 'upgrades from it and verifies the label moves';
    return [finding('abra-app', subject, 'ok', { found: `${domain} deployed at ${app.version}`, assumes, action })];
  },
};

const ENGINES = {
  postgres: { name: 'PostgreSQL', dump: 'pg_dump', tools: 'pg_dump and pg_restore' },
  mariadb: { name: 'MariaDB', dump: 'mariadb-dump', tools: 'mariadb-dump and mariadb' },
} as const;

type ImageVerdict = Pick<DoctorFinding, 'status' | 'found' | 'assumes' | 'action'>;

/**
 * What the image of an app's database service tells, against what coopctl.yaml says of it: `engine` is its
 * database.engine (undefined: no database:, abra app backup takes the backups).
 */
export function databaseImageVerdict(
  service: string,
  image: string | undefined,
  configured: { name: string; engine?: 'postgres' | 'mariadb' } | undefined,
): ImageVerdict {
  const expected = configured ? ENGINES[configured.engine ?? 'postgres'] : undefined;
  const assumes = configured
    ? `coopctl dumps ${configured.name} with ${expected!.dump} in ${service}: a ${expected!.name} server ` +
      '(database.engine in coopctl.yaml)'
    : 'coopctl does not dump it (no database: in coopctl.yaml): abra app backup does';
  if (image === undefined) {
    const action = configured ? 'backups fail: the dump has nowhere to run' : 'nothing';
    return { status: configured ? 'fail' : 'ok', found: `no swarm service ${service}`, assumes, action };
  }
  const db = databaseImage(image);
  const engine = db ? ` → ${db.engine} ${db.version ?? '(version not in the tag)'}` : '';
  const found = `${service}: ${image || '(no image)'}${engine}`;
  if (!db) return { status: 'unknown', found, assumes, action: 'engine not told' };
  if (expected && db.engine !== expected.name) {
    const fix = db.engine === 'MariaDB' ? 'engine: mariadb' : db.engine === 'PostgreSQL' ? 'engine: postgres' : '';
    const action = `backups fail: the image is ${db.engine}, not ${expected.name}: ${
      fix ? `set database.${fix}` : 'remove its database: and let abra app backup take them'
    }`;
    return { status: 'fail', found, assumes, action };
  }
  const action = expected ? `dumps and restores it with its own ${expected.tools}` : 'nothing';
  return { status: db.version ? 'ok' : 'unknown', found, assumes, action };
}

/** The app's database service and what its image is, against the engine coopctl.yaml names. */
const databaseImageProbe: DoctorProbe = {
  id: 'database-image',
  scope: 'target',
  async run({ context, target: t }) {
    const name = t.database?.swarmService ?? `${stackName(abraConfig(t).domain)}_${t.database?.container ?? 'db'}`;
    const svc = (await swarmServices(context, t)).find((s) => s.name === name);
    const v = databaseImageVerdict(name, svc ? (svc.image ?? '') : undefined, t.database);
    return [finding('database-image', `${t.service}/${t.env}`, v.status, v)];
  },
};

/**
 * Each name of `volumes:` is a volume Docker has on the server (`<stack>_<name>`): the recipe's volume names are
 * taken on trust in coopctl.yaml (MediaWiki's images), and this is where that is checked.
 * Each one's size (du -sb of its Mountpoint) is reported: preflight's disk and backup-host checks count it.
 */
const volumesProbe: DoctorProbe = {
  id: 'volumes',
  scope: 'target',
  async run({ target: t }) {
    const subject = `${t.service}/${t.env}`;
    const found: DoctorFinding[] = [];
    for (const v of t.volumes) {
      const assumes = `volumes: ${v.name} is the swarm volume ${v.volume} on ${t.host.name}, its files root's`;
      try {
        const [{ mountpoint, bytes }] = await volumeSizes(t.remote, [v]);
        found.push(
          finding('volumes', subject, 'ok', {
            found: `${v.volume}: ${mountpoint}, ${formatBytes(bytes)}`,
            assumes,
            action: 'backs it up with the database; preflight counts its size in the room a change needs',
          }),
        );
      } catch (err) {
        const stack = stackName(abraConfig(t).domain);
        const action = `backups fail: name in volumes: what \`docker volume ls\` shows for ${stack}`;
        found.push(finding('volumes', subject, 'fail', { found: errorMessage(err), assumes, action }));
      }
    }
    return found;
  },
};

/** What `coopctl doctor` checks of abra and the Co-op Cloud servers it deploys to. */
export const ABRA_DOCTOR: readonly DoctorProbe[] = [
  abraProbe,
  abraFlagsProbe,
  abraDirProbe,
  backupBotProbe,
  appProbe,
  databaseImageProbe,
  volumesProbe,
];
