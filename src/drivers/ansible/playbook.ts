import { createWriteStream, existsSync } from 'node:fs';
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { PRIVATE_DIR, PRIVATE_FILE } from '../../kernel/files.js';
import path from 'node:path';
import semver from 'semver';
import { ANSIBLE_STRICT_ENV } from '../../config/inventory.js';
import type { ProcessRunner } from '../../kernel/process.js';
import { quoteArg } from '../../remote/quote.js';
import type { DeployFiles } from '../../targets/driver.js';
import type { SshFiles } from '../../remote/ssh.js';
import { layeredSshConfig } from '../../remote/sshConfig.js';
import { EventsTail, PlaybookLedger, type AnsibleEvent, type StatsEvent, type TaskResultEvent } from './events.js';
import { ansibleEnvironment, operatorSettings, type OperatorSettings } from './settings.js';

const MITOGEN_STRATEGY_DIR = '/usr/lib/python3/dist-packages/ansible_mitogen/plugins/strategy';

type Strategy = 'mitogen_linear' | 'linear';

export interface PlaybookOptions {
  playbook: string;
  inventory: string;
  limit: string[];
  extraVars: Record<string, unknown>;
  /** Written next to the log, a directory per variable, which the run gets set to that directory's path. */
  files?: DeployFiles;
  check?: boolean;
  diff?: boolean;
  /** Full output of the run goes here; events next to it (<log>.events.jsonl). */
  logFile: string;
  onEvent?: (e: AnsibleEvent) => void;
  /** default Ansible settings (for the benchmark's baseline) instead of coopctl's tuning. */
  untuned?: boolean;
  /** Use the mitogen strategy when it is installed and compatible. */
  mitogen?: boolean;
  ansibleVersion?: string;
  signal?: AbortSignal;
  /** coopctl's own SSH files: Ansible's ssh then checks host keys against the same known_hosts. */
  ssh?: SshFiles;
  /** More environment for the run (the pass store coopctl.yaml names, for the inventory's passwordstore lookups). */
  env?: Record<string, string>;
}

export interface PlaybookResult {
  ok: boolean;
  exitCode: number;
  strategy: Strategy;
  /** Why mitogen was not used, when it was asked for. */
  strategyNote?: string;
  stats?: StatsEvent['hosts'];
  failures: TaskResultEvent[];
  changedTasks: string[];
  tasks: number;
  /** Every event arrived, no task reported a change and none but read-only ones started: the host is as it was. */
  untouched: boolean;
  /** Why the events do not tell the whole run, when they do not: what it changed is unknown. */
  eventsGap?: string;
  /** The events show the playbook started no task. */
  noTaskStarted: boolean;
  logFile: string;
  eventsFile: string;
}

/** Mitogen 0.3.x supports ansible-core up to 2.14 (Debian 12 ships both). */
function mitogenUsable(ansibleVersion: string | undefined): { ok: boolean; why?: string } {
  if (!existsSync(MITOGEN_STRATEGY_DIR)) return { ok: false, why: 'ansible-mitogen is not installed' };
  const v = ansibleVersion ? semver.coerce(ansibleVersion) : null;
  if (!v) return { ok: false, why: 'unknown ansible-core version' };
  if (semver.gt(v, '2.14.99'))
    return { ok: false, why: `ansible-mitogen 0.3 does not support ansible-core ${ansibleVersion}` };
  return { ok: true };
}

/**
 * OpenSSH options that make Ansible's ssh resolve hosts and check host keys as coopctl does, whatever the
 * operator's ssh_config says (`StrictHostKeyChecking no` or `accept-new`): this connection carries
 * .env.production. Command-line options come before the ssh_config files and the first value obtained is used
 * (ssh_config(5), DESCRIPTION); ssh_args come first on Ansible's ssh command line, before its own
 * `StrictHostKeyChecking=no` (host_key_checking off) and the inventory's ssh_common_args and ssh_extra_args
 * (ansible-core 2.14, lib/ansible/plugins/connection/ssh.py, Connection._build_command, "Next, we add ssh_args").
 */
function sshFileArgs(f: SshFiles | undefined): string {
  const o: string[] = [];
  if (f?.configFile) o.push('-F', f.configFile);
  o.push('-o', 'StrictHostKeyChecking=yes');
  if (f?.knownHostsFile) o.push('-o', `UserKnownHostsFile=${f.knownHostsFile}`);
  if (f?.globalKnownHostsFile) o.push('-o', `GlobalKnownHostsFile=${f.globalKnownHostsFile}`);
  return o.map(quoteArg).join(' ');
}

/**
 * Writes `files` under `<log>.files/<variable>/`, afresh (nothing an earlier run left there is passed on), and
 * returns the variables that name those directories. Ansible templates the values of variables, `--extra-vars`
 * included, but not a file that `ansible.builtin.copy` copies with `src` ("If you need variable interpolation in
 * copied files, use the ansible.builtin.template module": docs.ansible.com, ansible.builtin.copy module, Synopsis).
 */
async function writeDeployFiles(logFile: string, files: DeployFiles = {}): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const [variable, list] of Object.entries(files)) {
    const dir = path.resolve(`${logFile.replace(/\.log$/, '')}.files`, variable);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
    for (const f of list) {
      if (path.basename(f.name) !== f.name) throw new Error(`deploy file name "${f.name}" is not a plain file name`);
      await writeFile(path.join(dir, f.name), f.content, { mode: PRIVATE_FILE });
    }
    vars[variable] = dir;
  }
  return vars;
}

/** Argument list and environment for one ansible-playbook run (pure: nothing runs here). */
function playbookCommand(
  o: PlaybookOptions,
  strategy: Strategy,
  eventsFile: string,
  theirs: OperatorSettings,
): { args: string[]; env: Record<string, string> } {
  const args = ['-i', o.inventory, '--limit', o.limit.join(','), '--extra-vars', JSON.stringify(o.extraVars)];
  if (o.check) args.push('--check');
  if (o.diff) args.push('--diff');
  args.push(o.playbook);
  const files = sshFileArgs(o.ssh);
  const sshArgs = (tuning: string) => `${files} ${tuning}`;
  // An operator's ANSIBLE_HOST_KEY_CHECKING=False or host_key_checking = False never applies to coopctl's runs.
  const always = { ANSIBLE_HOST_KEY_CHECKING: 'True', COOPCTL_EVENTS_FILE: eventsFile };
  if (o.untuned) {
    // the benchmark's baseline: Ansible's defaults, whatever the configuration says
    const baseline = {
      ANSIBLE_PIPELINING: 'False',
      ANSIBLE_GATHERING: 'implicit',
      ANSIBLE_SSH_ARGS: sshArgs('-o ControlMaster=no'),
    };
    const env = { ...ansibleEnvironment({ names: new Set(), callbacks: theirs.callbacks }, {}), ...baseline };
    return { args, env: { ...o.env, ...ANSIBLE_STRICT_ENV, ...env, ...always } };
  }
  // Pipelining, one reused SSH connection per host, no fact gathering the play does not ask for.
  const tuning: Record<string, string> = { ANSIBLE_PIPELINING: 'True', ANSIBLE_GATHERING: 'explicit' };
  if (strategy === 'mitogen_linear')
    Object.assign(tuning, { ANSIBLE_STRATEGY_PLUGINS: MITOGEN_STRATEGY_DIR, ANSIBLE_STRATEGY: 'mitogen_linear' });
  return {
    args,
    env: {
      ...o.env,
      ...ANSIBLE_STRICT_ENV,
      ...ansibleEnvironment(theirs, tuning),
      // always set, so that what coopctl must add to it has a place; their ssh_args when they have some
      ANSIBLE_SSH_ARGS: sshArgs(theirs.sshArgs ?? '-o ControlMaster=auto -o ControlPersist=120s'),
      ...always,
    },
  };
}

async function runOnce(
  runner: ProcessRunner,
  o: PlaybookOptions,
  strategy: Strategy,
  attempt: number,
): Promise<PlaybookResult> {
  await mkdir(path.dirname(o.logFile), { recursive: true, mode: PRIVATE_DIR });
  const eventsFile = `${o.logFile.replace(/\.log$/, '')}${attempt ? `.${attempt}` : ''}.events.jsonl`;
  const ledger = new PlaybookLedger();
  const tail = new EventsTail(
    eventsFile,
    (e) => {
      ledger.add(e);
      o.onEvent?.(e);
    },
    (why) => ledger.spoilt(why),
  );
  // ProxyJump hops get the ssh_config (-F) but not -o: the layered one is as strict, with the same known-hosts files.
  const sshConfig = `${o.logFile.replace(/\.log$/, '')}.ssh_config`;
  await writeFile(sshConfig, layeredSshConfig(o.ssh ?? {}, { strict: true })!, { mode: PRIVATE_FILE });
  const extraVars = { ...o.extraVars, ...(await writeDeployFiles(o.logFile, o.files)) };
  const run = { ...o, extraVars, ssh: { ...o.ssh, configFile: sshConfig } };
  const { args, env } = playbookCommand(run, strategy, eventsFile, await operatorSettings(runner, o.playbook));
  const settings = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  await appendFile(o.logFile, `$ ${settings.join(' ')} ansible-playbook ${args.join(' ')}  (strategy ${strategy})\n`, {
    mode: PRIVATE_FILE,
  });
  // One stream keeps the lines in order (unsequenced appendFile calls reorder them) and is flushed before returning.
  const log = createWriteStream(o.logFile, { flags: 'a', mode: PRIVATE_FILE });
  tail.start();
  let exitCode: number;
  try {
    const r = await runner.run('ansible-playbook', args, {
      mutates: !o.check,
      cwd: path.dirname(o.playbook),
      env,
      showEnv: true,
      reject: false,
      signal: o.signal,
      // Ctrl-C at the terminal reaches coopctl, which stops the playbook itself and waits for it before any restore
      ownProcessGroup: true,
      onLine: (line) => log.write(`${line}\n`),
    });
    exitCode = r.exitCode;
    if (r.skipped) exitCode = 0;
  } finally {
    await tail.stop();
    await new Promise<void>((resolve) => log.end(resolve));
  }
  return {
    ok: exitCode === 0,
    exitCode,
    strategy,
    stats: ledger.stats,
    failures: ledger.failures,
    changedTasks: [...ledger.changed],
    tasks: ledger.tasks,
    untouched: ledger.untouched,
    ...(ledger.gap ? { eventsGap: ledger.gap } : {}),
    noTaskStarted: ledger.noTaskStarted,
    logFile: o.logFile,
    eventsFile,
  };
}

/**
 * Runs a playbook with structured progress. Mitogen is used when present and
 * compatible; if it breaks before any task ran, the run is repeated with the
 * plain linear strategy and the result says so.
 */
export async function runPlaybook(runner: ProcessRunner, o: PlaybookOptions): Promise<PlaybookResult> {
  const usable =
    o.mitogen && !o.untuned
      ? mitogenUsable(o.ansibleVersion)
      : { ok: false, why: o.mitogen ? 'untuned run' : 'not requested' };
  if (!usable.ok)
    return { ...(await runOnce(runner, o, 'linear', 0)), strategyNote: o.mitogen ? usable.why : undefined };
  const first = await runOnce(runner, o, 'mitogen_linear', 0);
  // Repeated only when its events show no task started: with events missing, the first run may have changed things.
  if (first.ok || !first.noTaskStarted) return first;
  const second = await runOnce(runner, o, 'linear', 1);
  return { ...second, strategyNote: 'mitogen failed before the first task; ran with the linear strategy' };
}
