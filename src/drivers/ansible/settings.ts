import { Memo } from '../../kernel/memo.js';
import path from 'node:path';
import type { ProcessRunner } from '../../kernel/process.js';

/**
 * What the operators' own Ansible configuration (ansible.cfg, ANSIBLE_* in their shell) already sets, as
 * `ansible-config dump --only-changed -t all` lists it: `NAME(origin) = value`, plugin options lower-case.
 */
export interface OperatorSettings {
  /** Setting names, upper-cased. */
  names: Set<string>;
  callbacks: string[];
  /** Their ssh_args: coopctl adds to them (known_hosts files) rather than replacing them. */
  sshArgs?: string;
}

function parseConfigDump(text: string): OperatorSettings {
  const names = new Set<string>();
  let callbacks: string[] = [];
  let sshArgs: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_]+)\(.*?\) = (.*)$/.exec(line.trim());
    if (!m) continue;
    const name = m[1].toUpperCase();
    names.add(name);
    if (name === 'CALLBACKS_ENABLED' || name === 'DEFAULT_CALLBACK_WHITELIST')
      callbacks = [...m[2].matchAll(/'([^']+)'|"([^"]+)"/g)].map((c) => c[1] ?? c[2]);
    if (name === 'SSH_ARGS' || name === 'ANSIBLE_SSH_ARGS') sshArgs = m[2].trim();
  }
  return { names, callbacks, sshArgs };
}

const read = new Memo();

/** Read once per playbook directory and run; an Ansible that cannot tell counts as setting nothing. */
export function operatorSettings(runner: ProcessRunner, playbook: string): Promise<OperatorSettings> {
  const cwd = path.dirname(playbook);
  return read.once(cwd, () =>
    runner
      .run('ansible-config', ['dump', '--only-changed', '-t', 'all'], { mutates: false, cwd, reject: false })
      .then((r) => parseConfigDump(r.exitCode === 0 ? r.stdout : ''))
      .catch(() => parseConfigDump('')),
  );
}

/**
 * The environment a playbook run gets. Needed, always: coopctl's event callback (added to the operators'
 * callbacks, not in their place) and plain output. Tuning (pipelining, no implicit fact gathering, mitogen)
 * only where the operators' configuration says nothing: what they set stays in force.
 */
export function ansibleEnvironment(theirs: OperatorSettings, tuning: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    ANSIBLE_CALLBACKS_ENABLED: [...theirs.callbacks.filter((c) => c !== 'coopctl_jsonl'), 'coopctl_jsonl'].join(','),
    ANSIBLE_FORCE_COLOR: '0',
  };
  for (const [name, value] of Object.entries(tuning)) if (!isSet(theirs, name)) env[name] = value;
  return env;
}

/** ANSIBLE_PIPELINING is `ANSIBLE_PIPELINING` in the base config and `pipelining` of the ssh plugin, and so on. */
const ALIASES: Record<string, string[]> = {
  ANSIBLE_PIPELINING: ['ANSIBLE_PIPELINING', 'PIPELINING'],
  ANSIBLE_GATHERING: ['DEFAULT_GATHERING'],
  ANSIBLE_STRATEGY: ['DEFAULT_STRATEGY'],
  ANSIBLE_STRATEGY_PLUGINS: ['DEFAULT_STRATEGY_PLUGIN_PATH'],
};

function isSet(theirs: OperatorSettings, envName: string): boolean {
  return (ALIASES[envName] ?? [envName.replace(/^ANSIBLE_/, '')]).some((n) => theirs.names.has(n));
}
