import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPlaybook } from '../../../src/drivers/ansible/playbook.js';
import type { ProcessRunner } from '../../../src/kernel/process.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-playbook-ssh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function envOf(
  ssh?: Parameters<typeof runPlaybook>[1]['ssh'],
  untuned = false,
): Promise<Record<string, string | undefined> & { sshConfig: string }> {
  let seen: Record<string, string | undefined> = {};
  const runner: ProcessRunner = {
    dryRun: false,
    async run(_file, _args, opts) {
      seen = { ...opts.env };
      return { stdout: '', stderr: '', exitCode: 0, skipped: false };
    },
  };
  const logFile = path.join(dir, `run-${Math.random()}.log`);
  await runPlaybook(runner, {
    playbook: path.join(dir, 'site.yml'),
    inventory: path.join(dir, 'inventory.yml'),
    limit: ['rhizome'],
    extraVars: {},
    logFile,
    ssh,
    untuned,
  });
  return { ...seen, sshConfig: logFile.replace(/\.log$/, '.ssh_config') };
}

describe("Ansible's ssh checks host keys as coopctl does", () => {
  it('turns host-key checking on whatever the operator set, and hands over the same ssh_config and known_hosts', async () => {
    const env = await envOf({
      configFile: '/home/op/.ssh/config',
      knownHostsFile: '/home/op/coop known_hosts',
      globalKnownHostsFile: '/etc/ssh/ssh_known_hosts',
    });
    expect(env.ANSIBLE_HOST_KEY_CHECKING).toBe('True');
    // A ProxyJump's ssh gets -F but not -o: strictness and the known-hosts files go into an ssh_config that
    // includes theirs, first (the first value obtained is used).
    expect(env.ANSIBLE_SSH_ARGS).toBe(
      `-F ${env.sshConfig} -o StrictHostKeyChecking=yes -o 'UserKnownHostsFile=/home/op/coop known_hosts' ` +
        '-o GlobalKnownHostsFile=/etc/ssh/ssh_known_hosts -o ControlMaster=auto -o ControlPersist=120s',
    );
    expect(readFileSync(env.sshConfig, 'utf8').split('\n').slice(1)).toEqual([
      'StrictHostKeyChecking yes',
      'UserKnownHostsFile "/home/op/coop known_hosts"',
      'GlobalKnownHostsFile /etc/ssh/ssh_known_hosts',
      'Include /home/op/.ssh/config',
      '',
    ]);
    expect(statSync(env.sshConfig).mode & 0o777).toBe(0o600);
    const untuned = await envOf({ knownHostsFile: '/kh' }, true);
    expect(untuned.ANSIBLE_SSH_ARGS).toBe(
      `-F ${untuned.sshConfig} -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/kh -o ControlMaster=no`,
    );
    expect(readFileSync(untuned.sshConfig, 'utf8')).toContain(`Include ${path.join(os.homedir(), '.ssh', 'config')}`);
  });

  it("when coopctl.yaml names no files: OpenSSH's own, and strict whatever they say", async () => {
    const env = await envOf(undefined);
    expect(env.ANSIBLE_HOST_KEY_CHECKING).toBe('True');
    expect(env.ANSIBLE_SSH_ARGS).toBe(
      `-F ${env.sshConfig} -o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPersist=120s`,
    );
    expect(readFileSync(env.sshConfig, 'utf8').split('\n').slice(1)).toEqual([
      'StrictHostKeyChecking yes',
      `Include ${path.join(os.homedir(), '.ssh', 'config')}`,
      'Include /etc/ssh/ssh_config',
      '',
    ]);
  });
});
