import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { ConfigError, InputError } from '../core/errors.js';
import { CommandFailedError, type ProcessRunner } from '../core/process.js';

/** A host as the Ansible inventory describes it: the single source of addresses. */
export interface InventoryHost {
  name: string;
  address: string;
  port: number;
  user: string;
  /** Every host variable, for coopctl_* paths and playbook variables such as mastodon_dir. */
  vars: Record<string, unknown>;
  inventory: string;
}

export interface Inventory {
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
  const hostvars = ((data._meta as { hostvars?: Record<string, Record<string, unknown>> } | undefined)?.hostvars ?? {});
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
      throw new ConfigError(`${file}: host ${name}: ansible_port ${JSON.stringify(vars.ansible_port)} is not a port number`);
    }
    hosts.set(name, {
      name,
      address: String(vars.ansible_host ?? vars.ansible_ssh_host ?? name),
      port,
      user: String(vars.ansible_user ?? vars.ansible_ssh_user ?? userInfo().username),
      vars,
      inventory: file,
    });
  }
  return { file, hosts };
}

export async function readInventory(runner: ProcessRunner, file: string): Promise<Inventory> {
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

/** Reads each distinct inventory once, in parallel. */
export class InventoryCache {
  private readonly loading = new Map<string, Promise<Inventory>>();
  constructor(private readonly runner: ProcessRunner) {}

  get(file: string): Promise<Inventory> {
    let p = this.loading.get(file);
    if (!p) {
      p = readInventory(this.runner, file);
      this.loading.set(file, p);
    }
    return p;
  }
}

export function hostVar(host: InventoryHost, name: string): string | undefined {
  const v = host.vars[name];
  return v === undefined || v === null ? undefined : String(v);
}
