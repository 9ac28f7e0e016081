import semver from 'semver';
import { ansibleVersion, installedCollections, missingCollections, requiredCollections, syntaxCheck } from './tool.js';
import { fail, pass, type Check } from '../../checks/types.js';

const INSTALL = 'install ansible-core (Debian/Ubuntu: apt-get install --no-install-recommends ansible-core)';

export const ansibleVersionCheck: Check = {
  id: 'ansible',
  drivers: ['ansible'],
  async run({ runner, workspace }) {
    let v: string | undefined;
    try {
      v = await ansibleVersion(runner);
    } catch {
      return fail('ansible-playbook is not installed here', INSTALL);
    }
    const min = workspace.config.checks.ansibleMinVersion;
    if (!v) return fail('could not read the ansible-playbook version', INSTALL);
    if (semver.lt(semver.coerce(v)!, semver.coerce(min)!)) return fail(`ansible-core ${v} is older than the supported ${min}`, INSTALL);
    return pass(`ansible-core ${v}`);
  },
};

export const collectionsCheck: Check = {
  id: 'ansible-collections',
  drivers: ['ansible'],
  needs: ['ansible'],
  async run({ runner, target, workspace }) {
    if (target.driver !== 'ansible') return pass('not an Ansible service');
    const playbook = workspace.loaded.resolvePath(target.serviceConfig.playbook);
    const required = requiredCollections(playbook);
    if (!required.length) return pass('the playbook needs no collections beyond ansible.builtin');
    const missing = missingCollections(required, await installedCollections(runner));
    if (missing.length) {
      return fail(`missing or wrong collections: ${missing.join(', ')}`, `ansible-galaxy collection install -r ${playbook.replace(/[^/]+$/, 'requirements.yml')}`);
    }
    return pass(`collections present: ${required.map((c) => c.name).join(', ')}`);
  },
};

export const playbookSyntaxCheck: Check = {
  id: 'playbook-syntax',
  drivers: ['ansible'],
  needs: ['ansible'],
  async run({ runner, target, workspace }) {
    if (target.driver !== 'ansible') return pass('not an Ansible service');
    const playbook = workspace.loaded.resolvePath(target.serviceConfig.playbook);
    const inventory = workspace.loaded.resolvePath(target.envConfig.inventory);
    const r = await syntaxCheck(runner, playbook, inventory);
    if (r.exitCode !== 0) {
      const err = (r.stderr || r.stdout).split('\n').filter((l) => l.trim()).slice(0, 6).join(' ');
      return fail(`ansible-playbook --syntax-check failed: ${err}`, `fix ${playbook} (run: ansible-playbook -i ${inventory} --syntax-check ${playbook})`);
    }
    return pass(`${playbook.split('/').slice(-2).join('/')} passes --syntax-check; inventory ${target.envConfig.inventory} parses`);
  },
};
