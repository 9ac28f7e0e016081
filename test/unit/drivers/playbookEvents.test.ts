import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPlaybook } from '../../../src/drivers/ansible/playbook.js';
import { ExecaRunner } from '../../../src/kernel/process.js';

/**
 * What a failed playbook changed is read from coopctl's callback events, and only when they tell the whole run:
 * real ansible-playbook runs on this machine (connection local). Ansible runs on without a callback that cannot
 * load, with only a warning ("Skipping callback ..., unable to load": ansible-core 2.14
 * lib/ansible/executor/task_queue_manager.py:252).
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-playbook-events-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// coopctl's callback, found as Ansible finds it for the real playbooks: in callback_plugins/ beside the playbook
mkdirSync(path.join(dir, 'bare'));
symlinkSync(path.resolve('playbooks', 'callback_plugins'), path.join(dir, 'callback_plugins'));
const inventory = path.join(dir, 'inventory.yml');
writeFileSync(
  inventory,
  'all:\n  hosts:\n    here:\n      ansible_connection: local\n      ansible_python_interpreter: /usr/bin/python3\n',
);

function playbook(name: string, tasks: string): string {
  const file = path.join(dir, `${name}.yml`);
  writeFileSync(file, `- hosts: all\n  gather_facts: false\n  tasks:\n${tasks}`);
  return file;
}

const run = (file: string, logFile: string) =>
  runPlaybook(new ExecaRunner(false), { playbook: file, inventory, limit: ['here'], extraVars: {}, logFile });

describe('a failed playbook changed nothing only when its events say so, whole', () => {
  it('events from start to stats, only an assert ran: nothing changed', async () => {
    const file = playbook('assert', '    - ansible.builtin.assert: { that: [false], fail_msg: DB_PASS is missing }\n');
    const r = await run(file, path.join(dir, 'logs', 'assert.log'));
    expect(r).toMatchObject({ ok: false, untouched: true, tasks: 1 });
    expect(r.eventsGap).toBeUndefined();
    expect(r.failures[0].msg).toBe('DB_PASS is missing');
  });

  const touchThenFail = (name: string, marker: string) =>
    playbook(
      name,
      `    - ansible.builtin.command: touch ${marker}\n    - ansible.builtin.fail: { msg: migration failed }\n`,
    );

  it('events missing (a playbook with no coopctl callback beside it): what it changed is unknown, not "nothing"', async () => {
    const marker = path.join(dir, 'changed-by-the-bare-run');
    const r = await run(touchThenFail('bare/touch-then-fail', marker), path.join(dir, 'logs', 'bare.log'));
    expect(existsSync(marker)).toBe(true);
    expect(r).toMatchObject({ ok: false, untouched: false, tasks: 0 });
    expect(r.eventsGap).toBe('its events are missing (the coopctl_jsonl callback reported nothing)');
  });

  it('events unreadable (the callback could not open its file, and skipped itself): unknown too', async () => {
    const marker = path.join(dir, 'changed-by-the-run');
    const logFile = path.join(dir, 'logs', 'unreadable.log');
    // where the callback would append its events, something it cannot open for appending
    mkdirSync(logFile.replace(/\.log$/, '.events.jsonl'), { recursive: true });
    const r = await run(touchThenFail('touch-then-fail', marker), logFile);
    expect(existsSync(marker)).toBe(true);
    expect(r).toMatchObject({ ok: false, untouched: false, tasks: 0 });
    expect(r.eventsGap).toMatch(/^its events are unreadable \(EISDIR/);
  });
});
