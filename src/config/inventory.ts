import { Memo } from '../kernel/memo.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import { PRIVATE_DIR, PRIVATE_FILE } from '../kernel/files.js';
import { ConfigError, InputError } from '../kernel/errors.js';
import { CommandFailedError, type ProcessRunner } from '../kernel/process.js';

/** Privilege escalation on a host, as the inventory's ansible_become* variables say (sudo only). */
export interface Become {
  /** ansible_become_user (default root). */
  user: string;
  method: 'sudo';
}

/** A host as the Ansible inventory describes it: the single source of addresses. */
export interface InventoryHost {
  /** The inventory name (rhizome); used in messages. */
  name: string;
  /** ansible_host, else the inventory name: what `ssh -G` resolves (an ssh_config alias works). */
  address: string;
  port: number;
  user: string;
  /** ansible_port / ansible_user set: they then win over the ssh_config, as in Ansible. */
  explicit?: { port: boolean; user: boolean };
  /** ansible_become on: coopctl's commands on the host run through sudo (as this user), as the playbook's do. */
  become?: Become;
  /** Host variables: coopctl_* paths and those the service profiles name are the ones coopctl reads (and caches). */
  vars: Record<string, unknown>;
  inventory: string;
}

interface Inventory {
  file: string;
  hosts: Map<string, InventoryHost>;
}

/** Quiet, strict ansible-inventory: an unparsable source is an error, not a warning. */
export const ANSIBLE_STRICT_ENV = {
  ANSIBLE_INVENTORY_UNPARSED_FAILED: 'True',
  ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED: 'True',
  ANSIBLE_NOCOLOR: '1',
  ANSIBLE_LOCALHOST_WARNING: 'False',
  ANSIBLE_DEPRECATION_WARNINGS: 'False',
};

export function parseInventoryJson(json: string, file: string): Inventory {
  let data: Record<string, { hosts?: string[] } & Record<string, unknown>>;
  try {
    data = JSON.parse(json);
  } catch {
    throw new ConfigError(`${file}: ansible-inventory printed something that is not JSON`);
  }
  const hostvars = (data._meta as { hostvars?: Record<string, Record<string, unknown>> } | undefined)?.hostvars ?? {};
  const names = new Set(Object.keys(hostvars));
  for (const [group, value] of Object.entries(data)) {
    if (group === '_meta') continue;
    for (const h of value?.hosts ?? []) names.add(h);
  }
  const hosts = new Map<string, InventoryHost>();
  for (const name of names) {
    const vars = hostvars[name] ?? {};
    const port = Number(vars.ansible_port ?? vars.ansible_ssh_port ?? 22);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError(
        `${file}: host ${name}: ansible_port ${JSON.stringify(vars.ansible_port)} is not a port number`,
      );
    }
    const become = becomeOf(vars, `${file}: host ${name}`);
    hosts.set(name, {
      name,
      address: String(vars.ansible_host ?? vars.ansible_ssh_host ?? name),
      port,
      user: String(vars.ansible_user ?? vars.ansible_ssh_user ?? userInfo().username),
      explicit: {
        port: (vars.ansible_port ?? vars.ansible_ssh_port) !== undefined,
        user: (vars.ansible_user ?? vars.ansible_ssh_user) !== undefined,
      },
      ...(become ? { become } : {}),
      vars,
      inventory: file,
    });
  }
  return { file, hosts };
}

/** Ansible's boolean spellings (module_utils.parsing.convert_bool). */
const TRUE = new Set(['y', 'yes', 'on', '1', 'true', 't', '1.0']);
const FALSE = new Set(['n', 'no', 'off', '0', 'false', 'f', '0.0']);

/** ansible_become, ansible_become_user (default root) and ansible_become_method (only sudo: coopctl runs it). */
function becomeOf(vars: Record<string, unknown>, where: string): Become | undefined {
  const raw = vars.ansible_become;
  if (raw === undefined || raw === null) return undefined;
  const word = String(raw).trim().toLowerCase();
  if (!TRUE.has(word) && !FALSE.has(word)) {
    throw new ConfigError(`${where}: ansible_become ${JSON.stringify(raw)} is not a boolean (true or false)`);
  }
  if (FALSE.has(word)) return undefined;
  const method = String(vars.ansible_become_method ?? 'sudo');
  if (method !== 'sudo') {
    throw new ConfigError(
      `${where}: ansible_become_method ${JSON.stringify(method)} is not supported: coopctl becomes another user ` +
        'with sudo only',
      { hints: ['use ansible_become_method: sudo for this host, with a NOPASSWD sudoers entry for its user'] },
    );
  }
  const user = String(vars.ansible_become_user ?? 'root');
  if (!/^[a-z_][\w.-]*\$?$/i.test(user)) {
    throw new ConfigError(`${where}: ansible_become_user ${JSON.stringify(user)} is not a user name`);
  }
  return { user, method: 'sudo' };
}

async function readInventory(runner: ProcessRunner, file: string): Promise<Inventory> {
  if (!existsSync(file)) throw new ConfigError(`${file}: inventory not found`);
  try {
    const r = await runner.run('ansible-inventory', ['-i', file, '--list'], {
      mutates: false,
      env: ANSIBLE_STRICT_ENV,
      timeoutMs: 60_000,
    });
    return parseInventoryJson(r.stdout, file);
  } catch (err) {
    if (err instanceof CommandFailedError) {
      const detail = err.result.stderr
        .split('\n')
        .filter((l) => /error|line \d+/i.test(l))
        .slice(0, 4)
        .join(' ')
        .replace(/\s+/g, ' ')
        .trim();
      throw new ConfigError(`${file}: inventory does not parse${detail ? `: ${detail}` : ''}`);
    }
    if (err instanceof InputError && err.code === 'missing-tool') {
      throw new ConfigError(`ansible-inventory is not installed: it is needed to read ${file}`, {
        hints: ['install ansible-core (Debian: apt-get install --no-install-recommends ansible-core)'],
      });
    }
    throw err;
  }
}

/**
 * Only what coopctl reads is kept on disk: addresses, coopctl's own path
 * variables and those the service profiles name, never other host variables
 * (they may hold secrets).
 */
function keptVariable(extra: readonly string[]): (name: string) => boolean {
  const names = new Set(extra);
  return (name) => /^coopctl_\w+$/.test(name) || names.has(name);
}

function files(p: string): string[] {
  try {
    const st = statSync(p);
    if (!st.isDirectory()) return [p];
    return readdirSync(p).flatMap((f) => files(path.join(p, f)));
  } catch {
    return [];
  }
}

/** Changes whenever a file of the inventory (or its group_vars/host_vars) changes. */
function inventoryFingerprint(file: string, variables: readonly string[] = []): string {
  const dir = statSync(file).isDirectory() ? file : path.dirname(file);
  const all = [
    ...new Set([...files(file), ...files(path.join(dir, 'group_vars')), ...files(path.join(dir, 'host_vars'))]),
  ].sort();
  const h = createHash('sha256')
    .update(file)
    .update('\0v3') // v2: hosts record whether port and user were set; v3: and become
    .update(`\0${[...variables].sort().join(',')}`);
  for (const f of all) {
    const st = statSync(f);
    h.update(`\0${f}\0${st.mtimeMs}\0${st.size}`);
  }
  return h.digest('hex');
}

function cacheFile(env: NodeJS.ProcessEnv, fingerprint: string): string {
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'coopctl', 'inventory', `${fingerprint}.json`);
}

/**
 * Reads each distinct inventory once per run, in parallel, and remembers the
 * result across runs until one of its files changes: `ansible-inventory`
 * costs a Python start-up (~0.4 s) on every command otherwise.
 */
export class InventoryCache {
  private readonly loading = new Memo();
  private readonly keep: (name: string) => boolean;

  constructor(
    private readonly runner: ProcessRunner,
    /** Host variables besides coopctl_* that are read (and so cached). */
    private readonly variables: readonly string[] = [],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.keep = keptVariable(variables);
  }

  get(file: string): Promise<Inventory> {
    return this.loading.once(file, () => this.load(file));
  }

  private async load(file: string): Promise<Inventory> {
    if (!existsSync(file)) throw new ConfigError(`${file}: inventory not found`);
    const cached = cacheFile(this.env, inventoryFingerprint(file, this.variables));
    try {
      const hosts = JSON.parse(readFileSync(cached, 'utf8')) as InventoryHost[];
      return { file, hosts: new Map(hosts.map((h) => [h.name, { ...h, inventory: file }])) };
    } catch {
      // not cached yet
    }
    const inv = await readInventory(this.runner, file);
    try {
      mkdirSync(path.dirname(cached), { recursive: true, mode: PRIVATE_DIR });
      const slim = [...inv.hosts.values()].map((h) => ({
        ...h,
        vars: Object.fromEntries(Object.entries(h.vars).filter(([k]) => this.keep(k))),
      }));
      writeFileSync(`${cached}.tmp`, JSON.stringify(slim), { mode: PRIVATE_FILE });
      renameSync(`${cached}.tmp`, cached);
    } catch {
      // a cache that cannot be written only costs time
    }
    return inv;
  }
}

export function hostVar(host: InventoryHost, name: string): string | undefined {
  const v = host.vars[name];
  return v === undefined || v === null ? undefined : String(v);
}
