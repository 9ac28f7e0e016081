import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { parse } from 'yaml';
import { ANSIBLE_STRICT_ENV } from '../../config/inventory.js';
import type { ProcessRunner } from '../../kernel/process.js';

/** `ansible-playbook [core 2.14.18]` → "2.14.18" */
export function parseAnsibleVersion(stdout: string): string | undefined {
  return /\[core ([\d.]+)\]/.exec(stdout)?.[1] ?? /ansible-playbook ([\d.]+)/.exec(stdout)?.[1];
}

export async function ansibleVersion(runner: ProcessRunner): Promise<string | undefined> {
  const r = await runner.run('ansible-playbook', ['--version'], {
    mutates: false,
    env: ANSIBLE_STRICT_ENV,
    timeoutMs: 30_000,
  });
  return parseAnsibleVersion(r.stdout);
}

interface RequiredCollection {
  name: string;
  version?: string;
}

/** Collections listed in requirements.yml next to the playbook (none is a valid answer). */
export function requiredCollections(playbook: string): RequiredCollection[] {
  const file = path.join(path.dirname(playbook), 'requirements.yml');
  if (!existsSync(file)) return [];
  const doc = parse(readFileSync(file, 'utf8')) as {
    collections?: Array<string | { name: string; version?: string }>;
  } | null;
  return (doc?.collections ?? []).map((c) =>
    typeof c === 'string' ? { name: c } : { name: c.name, version: c.version },
  );
}

export async function installedCollections(runner: ProcessRunner): Promise<Map<string, string>> {
  const r = await runner.run('ansible-galaxy', ['collection', 'list', '--format', 'json'], {
    mutates: false,
    env: ANSIBLE_STRICT_ENV,
    reject: false,
    timeoutMs: 60_000,
  });
  const out = new Map<string, string>();
  if (r.exitCode !== 0) return out;
  const data = JSON.parse(r.stdout || '{}') as Record<string, Record<string, { version: string }>>;
  for (const cols of Object.values(data))
    for (const [name, v] of Object.entries(cols)) if (!out.has(name)) out.set(name, v.version);
  return out;
}

export function missingCollections(required: RequiredCollection[], installed: Map<string, string>): string[] {
  return required
    .filter((c) => {
      const have = installed.get(c.name);
      if (!have) return true;
      if (!c.version || c.version === '*') return false;
      const v = semver.coerce(have);
      return !v || !semver.satisfies(v, c.version.replace(/,/g, ' '));
    })
    .map(
      (c) =>
        `${c.name}${c.version ? ` ${c.version}` : ''}` +
        `${installed.get(c.name) ? ` (have ${installed.get(c.name)})` : ''}`,
    );
}

export async function syntaxCheck(runner: ProcessRunner, playbook: string, inventory: string) {
  return runner.run('ansible-playbook', ['-i', inventory, '--syntax-check', playbook], {
    mutates: false,
    env: ANSIBLE_STRICT_ENV,
    reject: false,
    cwd: path.dirname(playbook),
    timeoutMs: 120_000,
  });
}
