import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPlaybook } from '../../../src/drivers/ansible/playbook.js';
import { ExecaRunner, type ProcessRunner, type RunOptions } from '../../../src/kernel/process.js';

/**
 * coopctl adds to the operators' ansible.cfg only what it needs: the real ansible-config reads a real
 * ansible.cfg next to the playbook; the playbook itself does not run (its command and environment are kept).
 */
const repos: string[] = [];
afterAll(() => {
  for (const dir of repos) rmSync(dir, { recursive: true, force: true });
});

function operatorsRepo(cfg: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-ansible-cfg-'));
  repos.push(dir);
  writeFileSync(path.join(dir, 'ansible.cfg'), cfg);
  writeFileSync(path.join(dir, 'site.yml'), '- hosts: all\n  tasks: []\n');
  return path.join(dir, 'site.yml');
}

async function playbookRun(playbook: string) {
  const log: string[] = [];
  const real = new ExecaRunner(false, (l) => log.push(l));
  let seen: RunOptions | undefined;
  const runner: ProcessRunner = {
    dryRun: false,
    run: (file, args, opts) => {
      if (file !== 'ansible-playbook') return real.run(file, args, opts);
      seen = opts;
      return real.run('true', [], opts);
    },
  };
  await runPlaybook(runner, {
    playbook,
    inventory: 'inventory.yml',
    limit: ['alpha'],
    extraVars: {},
    logFile: path.join(path.dirname(playbook), 'run.log'),
  });
  return { env: seen!.env ?? {}, log };
}

describe("the operators' ansible.cfg stays in force", () => {
  it('their callbacks, pipelining, fact gathering and ssh_args are kept; coopctl adds its callback to theirs', async () => {
    const playbook = operatorsRepo(
      '[defaults]\ncallbacks_enabled = profile_tasks, timer\ngathering = smart\n' +
        '[ssh_connection]\npipelining = False\nssh_args = -o ForwardAgent=yes\n',
    );
    const { env } = await playbookRun(playbook);
    expect(env.ANSIBLE_CALLBACKS_ENABLED).toBe('profile_tasks,timer,coopctl_jsonl');
    expect(env).not.toHaveProperty('ANSIBLE_PIPELINING');
    expect(env).not.toHaveProperty('ANSIBLE_GATHERING');
    // theirs, after what coopctl always puts first (strict host-key checking, the one-run ssh_config)
    const sshConfig = path.join(path.dirname(playbook), 'run.ssh_config');
    expect(env.ANSIBLE_SSH_ARGS).toBe(`-F ${sshConfig} -o StrictHostKeyChecking=yes -o ForwardAgent=yes`);
  });

  it('where their configuration says nothing, the tuning applies, and -v shows every setting coopctl adds', async () => {
    const { env, log } = await playbookRun(operatorsRepo('[defaults]\nnocows = True\n'));
    expect(env).toMatchObject({
      ANSIBLE_CALLBACKS_ENABLED: 'coopctl_jsonl',
      ANSIBLE_PIPELINING: 'True',
      ANSIBLE_GATHERING: 'explicit',
    });
    // the stand-in runs `true` in place of ansible-playbook, with the same environment and the same logging
    const line = log.find((l) => l.endsWith(' true'))!;
    expect(line).toMatch(/^\$ ANSIBLE_/);
    for (const name of Object.keys(env)) expect(line).toContain(`${name}=`);
  });
});
