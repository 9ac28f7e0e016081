import { InputError, ToolOutputError } from '../../kernel/errors.js';
import type { ProcessRunner } from '../../kernel/process.js';
import { assertName, assertVersion } from '../../kernel/validate.js';
import { outputExcerpt, parseAppList, type AbraApp } from './appList.js';
import { AbraCli, stripAnsi, type AbraSettings } from './cli.js';
import { RecipeRepos, type RecipeCheckout, type RecipeRelease, type ReleaseNote } from './recipes.js';
import {
  parseBackupSummary,
  parseSnapshotList,
  parseSnapshotPaths,
  type AbraSnapshot,
  type SnapshotFile,
} from './snapshots.js';

interface AbraClientOptions {
  runner: ProcessRunner;
  settings: AbraSettings;
  env?: NodeJS.ProcessEnv;
  /** Progress lines of long-running abra commands (deploys, backups). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /**
   * Bound for commands that change things; converge checks alone may take the recipe's timeout label
   * (bonfire: 300 s).
   */
  applyTimeoutMs?: number;
  readTimeoutMs?: number;
}

interface AbraVersionInfo {
  raw: string;
  version: string;
  commit?: string;
}

interface AbraChangeResult {
  /** false: abra said there was nothing to do ("no available upgrades"), or --dry-run skipped it. */
  changed: boolean;
  skipped: boolean;
  stdout: string;
  stderr: string;
}

interface AbraBackupResult {
  skipped: boolean;
  snapshotId?: string;
  /** What restic reported adding; 0 is the empty-dump trap, not a success. */
  addedBytes?: number;
  stdout: string;
  stderr: string;
}

interface DeployOptions {
  force?: boolean;
  chaos?: boolean;
  noConvergeChecks?: boolean;
}

/** An abra subcommand coopctl runs, and every flag it may pass to it (`coopctl doctor` finds each in its --help). */
interface AbraCommand {
  words: readonly string[];
  flags: readonly string[];
}

export const ABRA_COMMANDS = {
  appList: { words: ['app', 'ls'], flags: ['-S', '-m', '-s', '-n'] },
  recipeFetch: { words: ['recipe', 'fetch'], flags: ['-n'] },
  appUpgrade: { words: ['app', 'upgrade'], flags: ['-n', '-c'] },
  appRollback: { words: ['app', 'rollback'], flags: ['-n', '-c'] },
  appDeploy: { words: ['app', 'deploy'], flags: ['-n', '-f', '-C', '-c'] },
  backupCreate: { words: ['app', 'backup', 'create'], flags: ['-n'] },
  backupSnapshots: { words: ['app', 'backup', 'snapshots'], flags: ['-n'] },
  backupList: { words: ['app', 'backup', 'ls'], flags: ['-s', '-n'] },
  backupDownload: { words: ['app', 'backup', 'download'], flags: ['-s', '-p', '-n'] },
  appRestore: { words: ['app', 'restore'], flags: ['-s', '-n'] },
} as const satisfies Record<string, AbraCommand>;

/** The argument array of an abra command: its words, positionals, then flags (`[flag, value]` for a valued one). */
function abraArgs(
  cmd: AbraCommand,
  positionals: ReadonlyArray<string | undefined>,
  flags: ReadonlyArray<string | [string, string] | false | undefined>,
): string[] {
  const args = [...cmd.words, ...positionals.filter((p) => p !== undefined)];
  for (const f of flags) {
    if (!f) continue;
    const [flag, value] = typeof f === 'string' ? [f] : f;
    // a flag passed but not declared would escape doctor's --help check
    if (!cmd.flags.includes(flag)) throw new Error(`abra ${cmd.words.join(' ')}: ${flag} is not declared`);
    args.push(flag, ...(value === undefined ? [] : [value]));
  }
  return args;
}

function snapshotArg(snapshot: string): string {
  if (!/^[0-9a-f]{8,64}$/.test(snapshot)) throw new InputError(`"${snapshot}" is not a restic snapshot id`);
  return snapshot;
}

function domainArg(domain: string): string {
  return assertName(domain, 'domain');
}

/**
 * coopctl's only way to talk to Co-op Cloud: the real `abra` CLI as a child
 * process (always `-n`), plus read-only git on abra's recipe clones.
 */
export class AbraClient {
  readonly cli: AbraCli;
  readonly recipes: RecipeRepos;
  private readonly onLine?: AbraClientOptions['onLine'];
  private readonly applyTimeoutMs: number;
  private readonly readTimeoutMs: number;

  constructor(opts: AbraClientOptions) {
    this.cli = new AbraCli(opts.runner, opts.settings, opts.env);
    this.recipes = new RecipeRepos(opts.runner, this.cli.abraDir);
    this.onLine = opts.onLine;
    this.applyTimeoutMs = opts.applyTimeoutMs ?? 20 * 60_000;
    this.readTimeoutMs = opts.readTimeoutMs ?? 2 * 60_000;
  }

  private read(args: string[]) {
    return this.cli.run(args, { mutates: false, timeoutMs: this.readTimeoutMs });
  }

  private apply(args: string[]) {
    return this.cli.run(args, { mutates: true, timeoutMs: this.applyTimeoutMs, onLine: this.onLine });
  }

  async abraVersion(): Promise<AbraVersionInfo> {
    const { stdout } = await this.read(['--version']);
    const raw = stripAnsi(stdout).trim();
    const m = /version\s+v?(\S+?)(?:-([0-9a-f]{7,40}))?$/m.exec(raw);
    if (!m) {
      throw new ToolOutputError('abra --version: no version in the output', {
        hints: [`abra printed: ${outputExcerpt(stdout)}`],
      });
    }
    return { raw, version: m[1], commit: m[2] };
  }

  /** `abra app ls -S -m -s SERVER`: every app of the server with its deployed version and upgrades. */
  async listApps(server: string): Promise<AbraApp[]> {
    const args = abraArgs(ABRA_COMMANDS.appList, [], ['-S', '-m', ['-s', assertName(server, 'server')], '-n']);
    const { stdout } = await this.read(args);
    return parseAppList(stdout);
  }

  recipeVersions(recipe: string): Promise<RecipeRelease[]> {
    return this.recipes.versions(recipe);
  }

  releaseNotes(recipe: string, from: string | undefined, to: string): Promise<ReleaseNote[]> {
    return this.recipes.releaseNotes(recipe, from, to);
  }

  recipeCheckoutClean(recipe: string): Promise<RecipeCheckout> {
    return this.recipes.checkout(recipe);
  }

  /** `abra recipe fetch`: updates abra's clone (local state only; runs under --dry-run too). */
  async fetchRecipe(recipe: string): Promise<void> {
    await this.read(abraArgs(ABRA_COMMANDS.recipeFetch, [assertName(recipe, 'recipe')], ['-n']));
  }

  private async change(args: string[], nothingToDo?: RegExp): Promise<AbraChangeResult> {
    const r = await this.apply(args);
    const idle = nothingToDo?.test(stripAnsi(`${r.stdout}\n${r.stderr}`)) ?? false;
    return { changed: !r.skipped && !idle, skipped: r.skipped, stdout: r.stdout, stderr: r.stderr };
  }

  /** Upgrades to `version` (or abra's newest); abra refuses anything not greater than what runs. */
  upgradeApp(domain: string, version?: string, opts: { noConvergeChecks?: boolean } = {}): Promise<AbraChangeResult> {
    const v = version === undefined ? undefined : assertVersion(version, 'version');
    const args = abraArgs(ABRA_COMMANDS.appUpgrade, [domainArg(domain), v], ['-n', opts.noConvergeChecks && '-c']);
    return this.change(args, /no available upgrades/i);
  }

  /** Rolls back to `version` (or the previous one); abra refuses anything not lower than what runs. */
  rollbackApp(domain: string, version?: string, opts: { noConvergeChecks?: boolean } = {}): Promise<AbraChangeResult> {
    const v = version === undefined ? undefined : assertVersion(version, 'version');
    const args = abraArgs(ABRA_COMMANDS.appRollback, [domainArg(domain), v], ['-n', opts.noConvergeChecks && '-c']);
    return this.change(args, /no available downgrades/i);
  }

  /** `abra app deploy`: no ordering check, so with `force` it will also downgrade. */
  deployApp(domain: string, version?: string, opts: DeployOptions = {}): Promise<AbraChangeResult> {
    const v = version === undefined ? undefined : assertVersion(version, 'version');
    const flags = ['-n', opts.force && '-f', opts.chaos && '-C', opts.noConvergeChecks && '-c'];
    return this.change(abraArgs(ABRA_COMMANDS.appDeploy, [domainArg(domain), v], flags));
  }

  // abra runs these in backup-bot-two's container with a terminal (docker exec -t): coopctl gives them one
  private backupCommand(args: string[], opts: { mutates: boolean; input?: string; cwd?: string }) {
    return this.cli.run(args, {
      ...opts,
      terminal: true,
      timeoutMs: opts.mutates ? this.applyTimeoutMs : this.readTimeoutMs,
      onLine: opts.mutates ? this.onLine : undefined,
    });
  }

  async backupApp(domain: string): Promise<AbraBackupResult> {
    const args = abraArgs(ABRA_COMMANDS.backupCreate, [domainArg(domain)], ['-n']);
    const r = await this.backupCommand(args, { mutates: true });
    return { skipped: r.skipped, ...parseBackupSummary(r.stdout), stdout: r.stdout, stderr: r.stderr };
  }

  async listSnapshots(domain: string): Promise<AbraSnapshot[]> {
    const args = abraArgs(ABRA_COMMANDS.backupSnapshots, [domainArg(domain)], ['-n']);
    return parseSnapshotList((await this.backupCommand(args, { mutates: false })).stdout);
  }

  /** The paths of one snapshot (`abra app backup ls -s ID`): backup-bot-two prints no sizes. */
  async snapshotFiles(domain: string, snapshot: string): Promise<SnapshotFile[]> {
    const args = abraArgs(ABRA_COMMANDS.backupList, [domainArg(domain)], [['-s', snapshotArg(snapshot)], '-n']);
    return parseSnapshotPaths((await this.backupCommand(args, { mutates: false })).stdout);
  }

  /** `abra app backup download -s ID -p PATH`: abra leaves the archive of PATH in the working directory `into`. */
  async downloadSnapshotPath(domain: string, snapshot: string, file: string, into: string): Promise<void> {
    if (!file.startsWith('/') || /[\0\n]/.test(file)) throw new InputError(`"${file}" is not a snapshot path`);
    const flags: Array<[string, string] | string> = [['-s', snapshotArg(snapshot)], ['-p', file], '-n'];
    await this.backupCommand(abraArgs(ABRA_COMMANDS.backupDownload, [domainArg(domain)], flags), {
      mutates: false,
      cwd: into,
    });
  }

  // source: reference/production.md (U): backup-bot-two's restore asks "Type YES" unless told it is
  // non-interactive; whether abra's -n tells it is not known, so coopctl types the answer on the terminal
  /** Restores `snapshot` (default: the latest) into the running app. */
  async restoreApp(domain: string, snapshot?: string): Promise<AbraChangeResult> {
    const flags: Array<[string, string] | string> = snapshot === undefined ? [] : [['-s', snapshotArg(snapshot)]];
    const args = abraArgs(ABRA_COMMANDS.appRestore, [domainArg(domain)], [...flags, '-n']);
    const r = await this.backupCommand(args, { mutates: true, input: 'YES\n' });
    return { changed: !r.skipped, skipped: r.skipped, stdout: r.stdout, stderr: r.stderr };
  }
}
