import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Lookup plugins an inventory calls by their short name that ansible-core routes to a collection
 * (plugin_routing.lookup of ansible/config/ansible_builtin_runtime.yml): without the collection installed,
 * the play stops at the first task that templates the variable ("lookup plugin (passwordstore) not found").
 */
const ROUTED_LOOKUPS: Record<string, string> = {
  passwordstore: 'community.general',
  onepassword: 'community.general',
  onepassword_raw: 'community.general',
  bitwarden: 'community.general',
  keyring: 'community.general',
  lastpass: 'community.general',
  dig: 'community.general',
  dnstxt: 'community.general',
  consul_kv: 'community.general',
  credstash: 'community.general',
  cyberarkpassword: 'community.general',
  etcd: 'community.general',
  filetree: 'community.general',
  flattened: 'community.general',
  hiera: 'community.general',
  redis: 'community.general',
  shelvefile: 'community.general',
  cartesian: 'community.general',
  chef_databag: 'community.general',
  lmdb_kv: 'community.general',
  hashi_vault: 'community.hashi_vault',
  conjur_variable: 'cyberark.conjur',
  aws_secret: 'amazon.aws',
  aws_ssm: 'amazon.aws',
  aws_account_attribute: 'amazon.aws',
  aws_service_ip_ranges: 'amazon.aws',
  k8s: 'kubernetes.core',
  openshift: 'kubernetes.core',
  mongodb: 'community.mongodb',
  rabbitmq: 'community.rabbitmq',
  grafana_dashboard: 'community.grafana',
};

/** One `lookup('NAME', ...)` / `query('NAME', ...)` of an inventory file that needs a collection. */
export interface InventoryLookup {
  file: string;
  line: number;
  plugin: string;
  collection: string;
}

const CALL = /\b(?:lookup|query|q)\(\s*(['"])([A-Za-z_][\w.]*)\1/g;

/** The collection a lookup name needs; undefined for ansible.builtin (or a name it cannot place). */
function collectionOf(name: string): string | undefined {
  const parts = name.split('.');
  if (parts.length === 3) return parts[0] === 'ansible' ? undefined : `${parts[0]}.${parts[1]}`;
  return parts.length === 1 ? ROUTED_LOOKUPS[name] : undefined;
}

/** Lookups in one file's text (YAML or INI alike: the call is looked for in every line). */
function lookupsIn(file: string, text: string): InventoryLookup[] {
  const found: InventoryLookup[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (/^\s*[#;]/.test(line)) continue;
    for (const m of line.matchAll(CALL)) {
      const collection = collectionOf(m[2]);
      if (collection) found.push({ file, line: i + 1, plugin: m[2], collection });
    }
  }
  return found;
}

/** Files Ansible reads as inventory sources or their variables (it skips these endings in a directory). */
function inventoryFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || /(~|\.orig|\.bak|\.retry|\.pyc|\.cfg|\.md)$/.test(name)) continue;
    const p = path.join(dir, name);
    const s = statSync(p);
    if (s.isDirectory()) out.push(...inventoryFiles(p));
    else if (s.isFile() && s.size < 1024 * 1024) out.push(p);
  }
  return out;
}

/**
 * Every lookup an inventory needs a collection for: in the inventory (a file, or a directory of sources) and
 * in the group_vars/ and host_vars/ Ansible reads next to it. Paths are absolute.
 */
export function inventoryLookups(inventory: string): InventoryLookup[] {
  if (!existsSync(inventory)) return [];
  const isDir = statSync(inventory).isDirectory();
  const files = isDir ? inventoryFiles(inventory) : [inventory];
  if (!isDir) {
    for (const vars of ['group_vars', 'host_vars']) {
      const d = path.join(path.dirname(inventory), vars);
      if (existsSync(d) && statSync(d).isDirectory()) files.push(...inventoryFiles(d));
    }
  }
  return files.flatMap((f) => lookupsIn(f, readFileSync(f, 'utf8')));
}
