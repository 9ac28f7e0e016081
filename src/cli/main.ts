import { Command, CommanderError, Option, type OptionValues } from 'commander';
import { coopctlVersion } from '../kernel/version.js';
import { ExitCode, type ExitCodeValue } from '../kernel/errors.js';
import { systemIO, type IO } from '../kernel/io.js';
import type { CommandContext, GlobalOptions } from './context.js';
import { reportError } from './errors.js';

/**
 * The command tree. Kept free of domain imports so `--help` and `--version`
 * start fast: each action loads its command module on demand.
 */
/** A command module: `run` declares the options it reads, as the command below defines them. */
interface CommandModule<O> {
  run(ctx: CommandContext, opts: O, args: string[]): Promise<unknown>;
}
/** A parsed command line, bound to its command module, run once the context exists. */
type Runner = (ctx: CommandContext) => Promise<unknown>;

const SUMMARY = 'write the Markdown summary to FILE too (0600; its directory must exist), whatever the ending';

const EXAMPLES = `
Examples:
  $ coopctl sandbox up --dir .sandbox            build a local copy of the setup to try things on
  $ coopctl -c .sandbox/coopctl.yaml status      versions, health, locks of every service
  $ coopctl status mastodon --json               the same as one JSON document
  $ coopctl preflight mastodon --env alpha --to 4.4.8
  $ coopctl versions mastodon --env prod         what could be installed, security releases marked
  $ coopctl upgrade mastodon --env alpha         pick a version, read the notes and the plan, confirm
  $ coopctl upgrade mastodon --env prod --to 4.4.8 --yes
  $ coopctl upgrade bonfire --env prod           a Co-op Cloud app through abra, verified on coopctl's own terms
  $ coopctl promote mastodon --soak 0 --summary mr.md   alpha's verified version to prod, summary for the MR
  $ coopctl reject mastodon 4.5.0 --reason "breaks the Loomio integration"
  $ coopctl backup restore ID --into scratch     the scheduled restore test
  $ coopctl doctor > doctor.md                   what coopctl assumes of each host and tool, to paste into an issue

Exit codes:
  0 ok · 1 operation failed (the report says what state things are in) · 2 bad input or config
  (nothing ran remotely) · 3 preflight or verification refused · 4 lock held · 130 interrupted

Configuration: -c FILE, else $COOPCTL_CONFIG, else coopctl.yaml in this directory or above.`;

export function buildProgram(
  io: IO,
  onAction: (runner: Runner, cmd: Command, args: string[]) => Promise<void>,
): Command {
  const program = new Command('coopctl')
    .description(
      'Safe upgrades, backups and promotions for social.coop: Mastodon via Ansible, Co-op Cloud apps via abra.',
    )
    .option('-c, --config <file>', 'coopctl.yaml to use')
    .option('--json', 'print one JSON document on stdout (progress goes to stderr)')
    .option('-y, --yes', 'answer yes to confirmations (for scripts)')
    .option('--dry-run', 'read and plan only: print every change that would be made')
    .option('-v, --verbose', 'show every command run locally and on hosts')
    .version(coopctlVersion(), '--version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .addHelpText('after', EXAMPLES)
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: () => {},
    })
    .exitOverride();

  // The module's options type is the shape its command's flags give (commander's opts<T>).
  const action = <O extends OptionValues>(loader: () => Promise<CommandModule<O>>) =>
    async function (this: Command, ...raw: unknown[]) {
      const args = raw.slice(0, -2).filter((a): a is string => typeof a === 'string');
      const opts = this.opts<O>();
      await onAction(async (ctx) => (await loader()).run(ctx, opts, args), this, args);
    };
  const envOpt = (required = false) => {
    const o = new Option('-e, --env <env>', 'environment (alpha, prod, ...)');
    return required ? o.makeOptionMandatory() : o;
  };
  /** A subcommand; `target`: it acts on one SERVICE --env ENV; `filter`: [SERVICE] [--env ENV] narrow its scope. */
  const sub = (parent: Command, name: string, desc: string, scope?: 'target' | 'filter') => {
    const cmd = parent
      .command(name)
      .description(desc)
      .exitOverride()
      .configureOutput({ outputError: () => {} });
    if (!scope) return cmd;
    return cmd.argument(scope === 'target' ? '<service>' : '[service]').addOption(envOpt(scope === 'target'));
  };

  sub(
    program,
    'status',
    'versions, health, drift, lock and last backup of each service × environment',
    'filter',
  ).action(action(() => import('./commands/status.js')));

  sub(
    program,
    'doctor',
    'read-only: every assumption coopctl makes about hosts and tools, what it found and what coopctl does about it',
    'filter',
  ).action(action(() => import('./commands/doctor.js')));

  sub(program, 'versions', 'available versions, marking the current one, series, security releases and notes')
    .argument('<service>')
    .addOption(envOpt())
    .option('--pre', 'include pre-releases')
    .option('--notes', 'print the release notes of versions newer than the current one')
    .action(action(() => import('./commands/versions.js')));

  sub(program, 'preflight', 'run the checks an upgrade would run, without changing anything', 'target')
    .option('--to <version>', 'target version to check')
    .option('--pre', 'allow a pre-release target')
    .action(action(() => import('./commands/preflight.js')));

  sub(
    program,
    'upgrade',
    'upgrade a service: plan, preflight, lock, safety backup, apply, verify, record (restores on failure)',
    'target',
  )
    .option('--to <version>', 'target version (interactive picker on a terminal when omitted)')
    .option('--pre', 'offer and allow pre-releases')
    .option(
      '--lock-wait [duration]',
      'wait for another automatic run to finish (default 10m when given without a value)',
    )
    .option('--no-check', 'skip the ansible-playbook --check --diff preview')
    .option('--from-chaos', "upgrade from a chaos deploy, dropping its checkout's commits the target lacks")
    .option('--summary <file>', SUMMARY)
    .action(action(() => import('./commands/upgrade.js')));

  sub(
    program,
    'promote',
    'take the version the previous environment of the promotion chain verified (its newest succeeded change, ' +
      'soaked, healthy now, not rejected) to the next, through the same pipeline as an upgrade',
  )
    .argument('<service>')
    .option('--from <env>', 'the environment promoted from (default: the one before --to in the chain)')
    .option('--to <env>', 'the environment promoted to (default: the last of the chain)')
    .option('--soak <duration>', "how long the version must have run there (default: the service's soak:, else 24h)")
    .option('--from-chaos', "promote over a chaos deploy, dropping its checkout's commits the version lacks")
    .option('--summary <file>', SUMMARY)
    .action(action(() => import('./commands/promote.js')));

  sub(program, 'reject', "mark a version as not to be promoted or picked (recorded on every environment's host)")
    .argument('<service>')
    .argument('<version>')
    .requiredOption('--reason <text>', 'why (shown wherever the version is offered)')
    .action(action(() => import('./commands/rejection/reject.js')));
  sub(program, 'unreject', "lift the rejection of a version (recorded on every environment's host)")
    .argument('<service>')
    .argument('<version>')
    .option('--reason <text>', 'why (recorded)')
    .action(action(() => import('./commands/rejection/unreject.js')));

  sub(
    program,
    'rollback',
    'go back to the last succeeded version (or --to VERSION|RECORD), ' +
      'with its pre-upgrade database when the schema moved',
    'target',
  )
    .option('--to <version|record>', 'the version, or a history record whose starting version is wanted')
    .option(
      '--restore-db',
      "restore that change's pre-upgrade backup (later data is lost; the current database is kept renamed)",
    )
    .addOption(new Option('--keep-db', 'keep the current database').conflicts('restoreDb'))
    .option('--summary <file>', SUMMARY)
    .action(action(() => import('./commands/rollback.js')));

  const backup = sub(
    program,
    'backup',
    'database backups: streamed, compressed, encrypted, verified and restore-tested',
  );
  sub(backup, 'create', 'dump, compress, encrypt and store a backup; --json prints its manifest', 'target')
    .option(
      '--store <name>',
      'backup store (default: backup.store). An S3 store is written from the host (nothing passes through here, ' +
        'a copy stays on the host); a local store is on this machine, so the dump passes through here',
    )
    .option('--allow-plaintext', 'allow an unencrypted backup when no encryption is configured')
    .action(action(() => import('./commands/backup/create.js')));
  sub(backup, 'list', 'backups, newest first, with age, size, version and verified state', 'filter')
    .option('--store <name>', 'backup store (default: backup.store)')
    .action(action(() => import('./commands/backup/list.js')));
  sub(
    backup,
    'verify',
    'read it back: sha256, decrypt, pg_restore --list; the result is recorded in the manifest ' +
      '(an S3 store is read on backup.restoreTest; a local one through this machine)',
  )
    .argument('<id>', 'a backup id; with --restore also SERVICE/ENV, its newest backup (as the scheduled tests run)')
    .option('--quick', 'only the sha256 (no key needed)')
    .addOption(new Option('--restore', 'the restore test instead (as restore ID --into scratch)').conflicts('quick'))
    .option('--store <name>', 'backup store (default: backup.store)')
    .action(action(() => import('./commands/backup/verify.js')));
  sub(
    backup,
    'restore',
    'restore ID --into scratch (the restore test) or --into ENV ' +
      '(a real restore: lock, safety backup, new database then swap)',
  )
    .argument('<id>')
    .requiredOption('--into <target>', "scratch, or an environment of the backup's service")
    .option('--store <name>', 'backup store (default: backup.store)')
    .option('--from-other-env', "allow restoring another environment's backup (e.g. prod's data into alpha)")
    .option('--summary <file>', `with --into ENV: ${SUMMARY}`)
    .action(action(() => import('./commands/backup/restore.js')));
  sub(
    backup,
    'leftovers',
    'what runs left behind (replaced and scratch databases, .partial files, unfinished uploads), with age and size',
    'target',
  )
    .option('--store <name>', 'backup store (default: backup.store)')
    .action(action(() => import('./commands/backup/leftovers.js')));
  sub(
    backup,
    'prune',
    'apply backup.retention (leftovers too): prints what it would delete; deletes only with --yes',
    'filter',
  )
    .option('--store <name>', 'backup store (default: backup.store)')
    .action(action(() => import('./commands/backup/prune.js')));

  sub(
    program,
    'history',
    'one record per operation (upgrade, promote, rollback, restore, reject, forced lock release), newest first',
    'filter',
  )
    .option('--limit <n>', 'how many records', '20')
    .action(action(() => import('./commands/history.js')));

  const schedule = sub(
    program,
    'schedule',
    'scheduled backups and restore tests: systemd timers (schedule: in coopctl.yaml)',
  );
  sub(
    schedule,
    'install',
    'install coopctl, its config, its own SSH key and the timers on the schedule host (playbooks/schedule.yml)',
  ).action(action(() => import('./commands/schedule/install.js')));
  sub(schedule, 'mark', "a scheduled unit's last step: the freshness metric for node exporter's textfile collector")
    .argument('<kind>', 'backup or restore-test')
    .argument('<service>')
    .addOption(envOpt(true))
    .option('--dir <dir>', "the textfile collector's directory (default: /var/lib/prometheus/node-exporter)")
    .action(action(() => import('./commands/schedule/mark.js')));

  const monitor = sub(program, 'monitor', 'the monitoring of every service × environment (Prometheus, Alertmanager)');
  sub(
    monitor,
    'render',
    "write prometheus.yml, rules/, blackbox.yml and alertmanager.yml from coopctl.yaml (for the monitoring host's " +
      '/etc/prometheus/)',
  )
    .option('--out <dir>', 'where to write them (default: monitoring/ beside coopctl.yaml)')
    .action(action(() => import('./commands/monitor/render.js')));

  const notify = sub(program, 'notify', "the operators' Matrix room (notify.matrix)");
  sub(notify, 'relay', "post Alertmanager's webhooks in the room, one notice per alert group (until Ctrl-C)")
    .requiredOption('--listen <addr>', 'HOST:PORT, or PORT on 127.0.0.1, that monitoring.alertmanager.webhook names')
    .action(action(() => import('./commands/notify/relay.js')));

  const lock = sub(program, 'lock', 'see, take or release the lock of a service × environment (held on its host)');
  sub(lock, 'status', 'who holds the lock, since when, and whether it is stale', 'target').action(
    action(() => import('./commands/lock/status.js')),
  );
  sub(lock, 'acquire', 'take the lock by hand (e.g. during maintenance); automatic runs will not wait for it', 'target')
    .option('-m, --message <msg>', 'why (shown to other operators)')
    .action(action(() => import('./commands/lock/acquire.js')));
  sub(lock, 'release', "release your lock; --force breaks someone else's (recorded in history)", 'target')
    .option('--force', 'release a lock held by someone else or by a crashed run')
    .option('-m, --message <msg>', 'why it is forced (recorded)')
    .action(action(() => import('./commands/lock/release.js')));

  const SANDBOX_DIR = 'where the sandbox lives (default: the sandbox that wrote -c FILE, else .sandbox)';
  const sandbox = sub(
    program,
    'sandbox',
    "a local copy of the operators' setup (real sshd, PostgreSQL, Ansible, abra double)",
  );
  sub(sandbox, 'up', 'build and start the sandbox; writes DIR/coopctl.yaml')
    .option('--dir <dir>', SANDBOX_DIR)
    .option('--netns', 'put hosts in network namespaces (root only; default when root)')
    .option('--no-netns', 'keep every host on loopback ports')
    .option('--extra-hosts <n>', 'add N more Mastodon-like hosts (for benchmarks)', '0')
    .option(
      '--link <link>',
      "shape the operator's link to the hosts: home (30 ms, 20/100 Mbit/s; the default), lan (1 ms, 1 Gbit/s) " +
        'or none; the store is 1 ms, 1 Gbit/s from the hosts (netns only; an existing sandbox keeps its own)',
    )
    .action(action(() => import('./commands/sandbox/up.js')));
  sub(sandbox, 'down', 'stop every process the sandbox started')
    .option('--dir <dir>', SANDBOX_DIR)
    .option('--purge', 'also delete the directory')
    .action(action(() => import('./commands/sandbox/down.js')));
  sub(sandbox, 'status', 'which sandbox processes run, where, and active faults')
    .option('--dir <dir>', SANDBOX_DIR)
    .action(action(() => import('./commands/sandbox/status.js')));
  sub(sandbox, 'fill', "grow an environment's Mastodon database with realistic rows to about SIZE")
    .argument('<env>', 'alpha, prod (a Mastodon environment of the sandbox)')
    .requiredOption('--size <size>', 'the database size to reach, e.g. 500MB or 2GiB')
    .option('--dir <dir>', SANDBOX_DIR)
    .action(action(() => import('./commands/sandbox/fill.js')));
  sub(sandbox, 'fault', 'switch a fault on (TARGET KIND) or clear them (--clear)')
    .argument('[target]', 'alpha, prod, hypha (the Co-op Cloud server), an app (bonfire, wiki, auth) or store')
    .argument(
      '[kind]',
      'migration-fails, post-migration-fails, migrations-slow, dump-slow, health-fails, host-down, store-down, ' +
        'store-slow, abra-upgrade-fails, raid-degraded, reboot-required, secret-missing, backup-tools-missing',
    )
    .option('--dir <dir>', SANDBOX_DIR)
    .option('--clear', "clear every fault (or only TARGET's)")
    .action(action(() => import('./commands/sandbox/fault.js')));

  return program;
}

export async function main(argv: string[], io: IO = systemIO()): Promise<ExitCodeValue> {
  let ctx: CommandContext | undefined;
  let exitCode: ExitCodeValue = ExitCode.ok;
  const program = buildProgram(io, async (runner) => {
    const global = program.opts() as GlobalOptions;
    // Loaded on demand: config, SSH and process modules stay out of --help/--version start-up.
    const { createContext } = await import('./context.js');
    ctx = createContext(io, {
      config: global.config,
      json: !!global.json,
      yes: !!global.yes,
      dryRun: !!global.dryRun,
      verbose: !!global.verbose,
    });
    const r = await runner(ctx);
    if (typeof r === 'number') exitCode = r as ExitCodeValue;
  });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return ExitCode.ok;
    }
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (
      err instanceof CommanderError &&
      (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
    ) {
      return ExitCode.ok;
    }
    const json = argv.includes('--json');
    exitCode = reportError(err, io, json);
  } finally {
    for (const fn of ctx?.cleanup.reverse() ?? []) {
      try {
        await fn();
      } catch {
        // cleanup is best effort
      }
    }
  }
  return exitCode;
}
