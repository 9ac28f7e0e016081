import path from 'node:path';
import semver from 'semver';
import { fail, pass } from '../../targets/check.js';
import { type InventoryLookup, inventoryLookups } from './lookups.js';
import { playbookOf } from './paths.js';
import { ansibleVersion, installedCollections, missingCollections, requiredCollections, syntaxCheck } from './tool.js';
import type { Check } from '../../targets/target.js';

const INSTALL = 'install ansible-core (Debian/Ubuntu: apt-get install --no-install-recommends ansible-core)';

export const ansibleVersionCheck: Check = {
  id: 'ansible',
  async run({ runner, context }) {
    let v: string | undefined;
    try {
      v = await ansibleVersion(runner);
    } catch {
      return fail('ansible-playbook is not installed here', INSTALL);
    }
    const min = context.config.checks.ansibleMinVersion;
    if (!v) return fail('could not read the ansible-playbook version', INSTALL);
    if (semver.lt(semver.coerce(v)!, semver.coerce(min)!))
      return fail(`ansible-core ${v} is older than the supported ${min}`, INSTALL);
    return pass(`ansible-core ${v}`);
  },
};

/** The first use of each collection an inventory's lookups need and that is not installed. */
function absentForInventory(lookups: InventoryLookup[], installed: Map<string, string>): InventoryLookup[] {
  const first = new Map<string, InventoryLookup>();
  for (const l of lookups) if (!installed.has(l.collection) && !first.has(l.collection)) first.set(l.collection, l);
  return [...first.values()];
}

export const collectionsCheck: Check = {
  id: 'ansible-collections',
  needs: ['ansible'],
  async run({ runner, target, context }) {
    const { playbook, inventory } = playbookOf(context, target);
    const required = requiredCollections(playbook);
    const lookups = inventoryLookups(inventory);
    if (!required.length && !lookups.length)
      return pass('neither the playbook nor the inventory needs collections beyond ansible.builtin');
    const installed = await installedCollections(runner);
    const missing = missingCollections(required, installed);
    const absent = absentForInventory(lookups, installed);
    const what: string[] = [];
    const fixes: string[] = [];
    if (missing.length) {
      what.push(`missing or wrong collections: ${missing.join(', ')}`);
      fixes.push(`ansible-galaxy collection install -r ${playbook.replace(/[^/]+$/, 'requirements.yml')}`);
    }
    if (absent.length) {
      const where = (l: InventoryLookup) => `${path.relative(context.loaded.dir, l.file)}:${l.line}`;
      what.push(
        'the inventory needs collections that are not installed: ' +
          absent.map((l) => `${l.collection} (lookup '${l.plugin}' at ${where(l)})`).join(', '),
      );
      fixes.push(`ansible-galaxy collection install ${absent.map((l) => l.collection).join(' ')}`);
    }
    if (what.length) return fail(what.join('; '), fixes.join('; '));
    const names = [...new Set([...required.map((c) => c.name), ...lookups.map((l) => l.collection)])];
    return pass(`collections present: ${names.join(', ')}`);
  },
};

export const playbookSyntaxCheck: Check = {
  id: 'playbook-syntax',
  needs: ['ansible'],
  standalone: true,
  async run({ runner, target, context }) {
    const { playbook, inventory } = playbookOf(context, target);
    const r = await syntaxCheck(runner, playbook, inventory);
    if (r.exitCode !== 0) {
      const err = (r.stderr || r.stdout)
        .split('\n')
        .filter((l) => l.trim())
        .slice(0, 6)
        .join(' ');
      return fail(
        `ansible-playbook --syntax-check failed: ${err}`,
        `fix ${playbook} (run: ansible-playbook -i ${inventory} --syntax-check ${playbook})`,
      );
    }
    const name = playbook.split('/').slice(-2).join('/');
    return pass(`${name} passes --syntax-check; inventory ${target.envConfig.inventory} parses`);
  },
};
