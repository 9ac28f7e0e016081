// Orchestration overhead: `coopctl upgrade --yes` (preflight, lock, verified
// backup, playbook, verification, history) against a plain shell script doing
// the same steps (pg_dump to a file over ssh, ansible-playbook, curl checks).
// Target ≤ 1.2×. Between runs alpha is put back on 4.4.7 (not measured).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { median, timeOnce } from './lib.mjs';
import { bin, cli, withSandbox } from './sandbox.mjs';

const runs = Number(process.env.RUNS ?? 3);
const playbook = path.resolve(import.meta.dirname, '..', 'playbooks', 'mastodon.yml');

withSandbox(({ dir, config, inventoryFile, host }) => {
  const h = host('alpha');
  const dataDir = h.mastodon_dir;
  const url = parse(readFileSync(config, 'utf8')).services.mastodon.environments.alpha.health.url;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'coopctl-bench-dump-'));
  const script = [
    'set -euo pipefail',
    `ssh -i ${dir}/ssh/id_ed25519 -o UserKnownHostsFile=${dir}/ssh/known_hosts -o StrictHostKeyChecking=yes -p ${h.ansible_port} ${h.ansible_user}@${h.ansible_host} docker compose -f ${dataDir}/docker-compose.yml --project-directory ${dataDir} exec -T db pg_dump -U postgres -Fc mastodon_production > ${tmp}/dump`,
    `cd ${path.dirname(playbook)} && ansible-playbook -i ${inventoryFile} -l alpha -e mastodon_version=4.4.8 ${playbook} > /dev/null`,
    `curl -fsS ${url}/health > /dev/null`,
    `curl -fsS ${url}/api/v2/instance | grep -q '"version":"4.4.8"'`,
    `curl -fsS ${url}/api/v1/streaming/health > /dev/null`,
    `for i in 1 2 3; do curl -fsS "${url}/api/v1/timelines/public?limit=5" > /dev/null; done`,
  ].join('\n');
  const reset = () => {
    const r = cli('-c', config, 'rollback', 'mastodon', '--env', 'alpha', '--to', '4.4.7', '--keep-db', '--yes');
    if (r.status !== 0)
      timeOnce('ansible-playbook', ['-i', inventoryFile, '-l', 'alpha', '-e', 'mastodon_version=4.4.7', playbook], {
        cwd: path.dirname(playbook),
      });
  };
  const shell = [];
  const coop = [];
  for (let i = 0; i < runs; i++) {
    shell.push(timeOnce('bash', ['-c', script]));
    reset();
    coop.push(
      timeOnce(
        process.execPath,
        [bin, '-c', config, 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--yes', '--no-check'],
        { env: { ...process.env, CI: '1' } },
      ),
    );
    reset();
  }
  rmSync(tmp, { recursive: true, force: true });
  const base = median(shell);
  const ratio = median(coop) / base;
  console.log(
    `\nupgrade orchestration overhead, 4.4.7 → 4.4.8 on one sandbox host (median of ${runs} interleaved runs)`,
  );
  console.log(`  baseline  shell script (pg_dump > file, ansible-playbook, curl): ${base.toFixed(0)} ms`);
  console.log(
    `  coopctl upgrade --yes (preflight, lock, verified encrypted backup, playbook, verification, history): ${median(coop).toFixed(0)} ms = ${ratio.toFixed(2)}× baseline  (target ≤ 1.2×: ${ratio <= 1.2 ? 'ok' : 'MISSED'})`,
  );
});
