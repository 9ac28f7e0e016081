// The playbook phase: the production playbook under Ansible's default settings
// (no ansible.cfg: facts gathered as the play asks by default, no pipelining) against coopctl's tuning (pipelining, SSH
// connection reuse, no fact gathering) and, when installed and compatible,
// the mitogen strategy. Target: tuned ≤ 0.5× default. backup-scale.mjs runs it too (measureAnsibleTuning).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, timeOnce } from './lib.mjs';
import { withSandbox } from './sandbox.mjs';

const playbook = path.resolve(import.meta.dirname, '..', 'playbooks', 'mastodon.yml');
const mitogenDir = '/usr/lib/python3/dist-packages/ansible_mitogen/plugins/strategy';

function ansibleSettings(dir) {
  const emptyCfg = path.join(dir, 'ansible.cfg');
  writeFileSync(emptyCfg, '[defaults]\n');
  const tuned = {
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_GATHERING: 'explicit',
    ANSIBLE_SSH_ARGS: '-o ControlMaster=auto -o ControlPersist=120s',
  };
  return {
    default: { ANSIBLE_CONFIG: emptyCfg },
    tuned,
    ...(existsSync(mitogenDir)
      ? { mitogen: { ...tuned, ANSIBLE_STRATEGY_PLUGINS: mitogenDir, ANSIBLE_STRATEGY: 'mitogen_linear' } }
      : {}),
  };
}

/**
 * The playbook on `host` under each setting, `runs` interleaved runs; returns the medians in ms by setting name.
 * Each run moves the host to the other version, so every run does the same work: pull, migrate, up, restart.
 */
export function measureAnsibleTuning(inventoryFile, { host = 'alpha', runs = 3, versions = ['4.4.8', '4.4.7'] } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-bench-'));
  try {
    return measure(inventoryFile, ansibleSettings(dir), { host, runs, versions });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function measure(inventoryFile, settings, { host, runs, versions }) {
  const times = Object.fromEntries(Object.keys(settings).map((k) => [k, []]));
  let next = 0;
  for (let i = 0; i < runs; i++) {
    for (const [name, env] of Object.entries(settings)) {
      const version = versions[next++ % versions.length];
      times[name].push(
        timeOnce('ansible-playbook', ['-i', inventoryFile, '-l', host, '-e', `mastodon_version=${version}`, playbook], {
          cwd: path.dirname(playbook),
          env: { ...process.env, ...env },
        }),
      );
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

function main() {
  const runs = Number(process.env.RUNS ?? 3);
  withSandbox(({ inventoryFile }) => {
    const medians = measureAnsibleTuning(inventoryFile, { runs });
    const base = medians.default;
    console.log(`\nansible tuning: the production playbook on one sandbox host (median of ${runs} interleaved runs)`);
    console.log(`  baseline  default Ansible settings (facts gathered, no pipelining): ${base.toFixed(0)} ms`);
    for (const name of Object.keys(medians).filter((n) => n !== 'default')) {
      const ratio = medians[name] / base;
      console.log(
        `  ${name}: ${medians[name].toFixed(0)} ms = ${ratio.toFixed(2)}× baseline  (target ≤ 0.5×: ${ratio <= 0.5 ? 'ok' : 'MISSED'})`,
      );
    }
    if (!medians.mitogen) console.log('  mitogen: not installed (Debian: apt-get install ansible-mitogen) — skipped');
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
