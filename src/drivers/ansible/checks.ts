import semver from 'semver';
import { fail, pass, type Check } from '../../targets/check.js';
import { playbookOf } from './paths.js';
import { ansibleVersion, installedCollections, missingCollections, requiredCollections, syntaxCheck } from './tool.js';

const INSTALL = 'install ansible-core (Debian/Ubuntu: apt-get install --no-install-recommends ansible-core)';

export const ansibleVersionCheck: Check = {
  id: 'ansible',
  async run({ runner, workspace }) {
    let v: string | undefined;
    try {
      v = await ansibleVersion(runner);
    } catch {
      return fail('ansible-playbook is not installed here', INSTALL);
    }
    const min = workspace.config.checks.ansibleMinVersion;
    if (!v) return fail('could not read the ansible-playbook version', INSTALL);
    if (semver.lt(semver.coerce(v)!, semver.coerce(min)!))
      return fail(`ansible-core ${v} is older than the supported ${min}`, INSTALL);
    return pass(`ansible-core ${v}`);
  },
};

export const collectionsCheck: Check = {
  id: 'ansible-collections',
  needs: ['ansible'],
  async run({ runner, target, workspace }) {
    const { playbook } = playbookOf(workspace, target);
    const required = requiredCollections(playbook);
    if (!required.length) return pass('the playbook needs no collections beyond ansible.builtin');
    const missing = missingCollections(required, await installedCollections(runner));
    if (missing.length) {
      const requirements = playbook.replace(/[^/]+$/, 'requirements.yml');
      return fail(
        `missing or wrong collections: ${missing.join(', ')}`,
        `ansible-galaxy collection install -r ${requirements}`,
      );
    }
    return pass(`collections present: ${required.map((c) => c.name).join(', ')}`);
  },
};

export const playbookSyntaxCheck: Check = {
  id: 'playbook-syntax',
  needs: ['ansible'],
  standalone: true,
  async run({ runner, target, workspace }) {
    const { playbook, inventory } = playbookOf(workspace, target);
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
