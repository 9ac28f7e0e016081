// The playbook phase: the production playbook under Ansible's default settings
// (no ansible.cfg: facts gathered as the play asks by default, no pipelining) against coopctl's tuning (pipelining, SSH
// connection reuse, no fact gathering) and, when installed and compatible,
// the mitogen strategy. Target: tuned ≤ 0.5× default.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, timeOnce } from './lib.mjs';
import { withSandbox } from './sandbox.mjs';

const runs = Number(process.env.RUNS ?? 3);
const playbook = path.resolve(import.meta.dirname, '..', 'playbooks', 'mastodon.yml');
const mitogenDir = '/usr/lib/python3/dist-packages/ansible_mitogen/plugins/strategy';
const emptyCfg = path.join(mkdtempSync(path.join(os.tmpdir(), 'coopctl-bench-')), 'ansible.cfg');
writeFileSync(emptyCfg, '[defaults]\n');

const settings = {
  default: { ANSIBLE_CONFIG: emptyCfg },
  tuned: {
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_GATHERING: 'explicit',
    ANSIBLE_SSH_ARGS: '-o ControlMaster=auto -o ControlPersist=120s',
  },
  ...(existsSync(mitogenDir)
    ? {
        mitogen: {
          ANSIBLE_PIPELINING: 'True',
          ANSIBLE_GATHERING: 'explicit',
          ANSIBLE_SSH_ARGS: '-o ControlMaster=auto -o ControlPersist=120s',
          ANSIBLE_STRATEGY_PLUGINS: mitogenDir,
          ANSIBLE_STRATEGY: 'mitogen_linear',
        },
      }
    : {}),
};

withSandbox(({ inventoryFile }) => {
  const times = Object.fromEntries(Object.keys(settings).map((k) => [k, []]));
  let version = '4.4.8';
  for (let i = 0; i < runs; i++) {
    for (const [name, env] of Object.entries(settings)) {
      // Each run moves alpha to the other version, so every run does the same work: pull, migrate, up, restart.
      times[name].push(
        timeOnce(
          'ansible-playbook',
          ['-i', inventoryFile, '-l', 'alpha', '-e', `mastodon_version=${version}`, playbook],
          {
            cwd: path.dirname(playbook),
            env: { ...process.env, ...env },
          },
        ),
      );
      version = version === '4.4.8' ? '4.4.7' : '4.4.8';
    }
  }
  const base = median(times.default);
  console.log(`\nansible tuning: the production playbook on one sandbox host (median of ${runs} interleaved runs)`);
  console.log(`  baseline  default Ansible settings (facts gathered, no pipelining): ${base.toFixed(0)} ms`);
  for (const name of Object.keys(settings).filter((n) => n !== 'default')) {
    const ratio = median(times[name]) / base;
    console.log(
      `  ${name}: ${median(times[name]).toFixed(0)} ms = ${ratio.toFixed(2)}× baseline  (target ≤ 0.5×: ${ratio <= 0.5 ? 'ok' : 'MISSED'})`,
    );
  }
  if (!settings.mitogen) console.log('  mitogen: not installed (Debian: apt-get install ansible-mitogen) — skipped');
});
