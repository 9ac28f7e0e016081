import { existsSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { firstLine, installed } from '../../checks/doctor/tools.js';
import { ANSIBLE_STRICT_ENV } from '../../config/inventory.js';
import { printable } from '../../kernel/validate.js';
import { type DoctorFinding, finding } from '../../targets/doctor.js';
import { playbookOf } from './paths.js';
import { parseAnsibleVersion } from './tool.js';
import type { DoctorProbe } from '../../targets/target.js';

/** `config file = /etc/ansible/ansible.cfg` (or `= None`) of `ansible --version`. */
export function parseAnsibleConfigFile(stdout: string): string | null | undefined {
  const m = /^\s*config file = (.*)$/m.exec(stdout);
  if (!m) return undefined;
  return m[1].trim() === 'None' ? null : m[1].trim();
}

/**
 * Which ansible-playbook runs, at which version, and which ansible.cfg it reads where coopctl runs it (the playbook's
 * directory): ANSIBLE_CONFIG, else ./ansible.cfg there, else ~/.ansible.cfg, else /etc/ansible/ansible.cfg.
 */
export const ansibleProbe: DoctorProbe = {
  id: 'ansible',
  scope: 'local',
  async run({ context, runner, targets }) {
    const dirs = [...new Set(targets.map((t) => path.dirname(playbookOf(context, t).playbook)))];
    const min = context.config.checks.ansibleMinVersion;
    const out: DoctorFinding[] = [];
    for (const cwd of dirs) {
      const r = await installed(
        runner.run('ansible-playbook', ['--version'], {
          mutates: false,
          env: ANSIBLE_STRICT_ENV,
          cwd,
          reject: false,
          timeoutMs: 30_000,
        }),
      );
      const assumes =
        `ansible-core ≥ ${min} runs the playbook from ${cwd}, reading ANSIBLE_CONFIG, else ${cwd}/ansible.cfg, ` +
        'else ~/.ansible.cfg, else /etc/ansible/ansible.cfg';
      if (r?.exitCode !== 0) {
        const found = r ? firstLine(r.stderr || r.stdout) : 'ansible-playbook is not installed here';
        out.push(finding('ansible', 'ansible-playbook', 'fail', { found, assumes, action: 'cannot deploy Mastodon' }));
        continue;
      }
      const version = parseAnsibleVersion(r.stdout);
      const config = parseAnsibleConfigFile(r.stdout);
      const repoCfg = path.join(context.loaded.dir, 'ansible.cfg');
      const env = process.env.ANSIBLE_CONFIG ? `; ANSIBLE_CONFIG=${printable(process.env.ANSIBLE_CONFIG)}` : '';
      const found =
        `ansible-core ${version ?? `(no version in: ${firstLine(r.stdout)})`}; config file ` +
        `${config === undefined ? 'not shown' : (config ?? 'none')}${env}`;
      const old = version && semver.lt(semver.coerce(version)!, semver.coerce(min)!);
      const ignored = existsSync(repoCfg) && config !== repoCfg && path.resolve(cwd) !== context.loaded.dir;
      const status = old ? 'fail' : !version || config === undefined ? 'unknown' : ignored ? 'warn' : 'ok';
      const action = old
        ? `preflight refuses: upgrade ansible-core to ${min} or later`
        : ignored
          ? `${repoCfg} is not read by coopctl's playbook runs (they start in ${cwd}): ` +
            'set ANSIBLE_CONFIG, or move it next to the playbook'
          : 'adds its own settings only where that configuration sets none (-v shows them)';
      out.push(finding('ansible', 'ansible-playbook', status, { found, assumes, action }));
    }
    return out;
  },
};
