import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPlaybook } from '../../../src/drivers/ansible/playbook.js';
import type { ProcessRunner, RunOptions } from '../../../src/kernel/process.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-playbook-ssh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function envOf(ssh?: Parameters<typeof runPlaybook>[1]['ssh'], untuned = false) {
  let seen: RunOptions['env'];
  const runner: ProcessRunner = {
    dryRun: false,
    async run(_file, _args, opts) {
      seen = opts.env;
      return { stdout: '', stderr: '', exitCode: 0, skipped: false };
    },
  };
  await runPlaybook(runner, {
    playbook: path.join(dir, 'site.yml'),
    inventory: path.join(dir, 'inventory.yml'),
    limit: ['rhizome'],
    extraVars: {},
    logFile: path.join(dir, `run-${Math.random()}.log`),
    ssh,
    untuned,
  });
  return seen!;
}

describe("Ansible's ssh checks host keys as coopctl does", () => {
  it('turns host-key checking on whatever the operator set, and hands over the same ssh_config and known_hosts', async () => {
    const env = await envOf({
      configFile: '/home/op/.ssh/config',
      knownHostsFile: '/home/op/coop known_hosts',
      globalKnownHostsFile: '/etc/ssh/ssh_known_hosts',
    });
    expect(env.ANSIBLE_HOST_KEY_CHECKING).toBe('True');
    expect(env.ANSIBLE_SSH_ARGS).toBe(
      "-F /home/op/.ssh/config -o 'UserKnownHostsFile=/home/op/coop known_hosts' " +
        '-o GlobalKnownHostsFile=/etc/ssh/ssh_known_hosts -o ControlMaster=auto -o ControlPersist=120s',
    );
    expect((await envOf({ knownHostsFile: '/kh' }, true)).ANSIBLE_SSH_ARGS).toBe(
      '-o UserKnownHostsFile=/kh -o ControlMaster=no',
    );
  });

  it("leaves OpenSSH's own files alone when coopctl.yaml names none", async () => {
    const env = await envOf(undefined);
    expect(env.ANSIBLE_HOST_KEY_CHECKING).toBe('True');
    expect(env.ANSIBLE_SSH_ARGS).toBe('-o ControlMaster=auto -o ControlPersist=120s');
  });
});
