import { mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InventoryCache, parseInventoryJson } from '../../../src/config/inventory.js';
import { ExecaRunner } from '../../../src/kernel/process.js';

describe('Ansible inventory', () => {
  it('reads hosts from ansible-inventory --list, including hosts without variables', () => {
    const inv = parseInventoryJson(
      JSON.stringify({
        _meta: {
          hostvars: { rhizome: { ansible_host: 'rhizome.social.coop', ansible_user: 'root', ansible_port: 2222 } },
        },
        ungrouped: { hosts: ['pando'] },
      }),
      'inv',
    );
    expect(inv.hosts.get('rhizome')).toMatchObject({ address: 'rhizome.social.coop', port: 2222, user: 'root' });
    expect(inv.hosts.get('pando')).toMatchObject({ address: 'pando', port: 22 });
  });

  it('records whether port and user were set: only then do they win over the ssh_config, as in Ansible', () => {
    const inv = parseInventoryJson(
      JSON.stringify({ _meta: { hostvars: { rhizome: { ansible_port: 2222 }, pando: { ansible_user: 'ops' } } } }),
      'inv',
    );
    expect(inv.hosts.get('rhizome')!.explicit).toEqual({ port: true, user: false });
    expect(inv.hosts.get('pando')!.explicit).toEqual({ port: false, user: true });
  });

  it('is cached across runs with only the variables coopctl reads, and read again when a file changes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-inv-'));
    const cache = mkdtempSync(path.join(os.tmpdir(), 'coopctl-cache-'));
    const inv = path.join(dir, 'prod');
    mkdirSync(path.join(inv, 'group_vars'), { recursive: true });
    writeFileSync(
      path.join(inv, 'hosts.yml'),
      'all:\n  hosts:\n    rhizome:\n      ansible_host: 127.0.0.1\n      coopctl_state_dir: /srv/coopctl\n',
    );
    writeFileSync(path.join(inv, 'group_vars', 'all.yml'), 'db_password: hunter2-very-secret\n');
    const env = { ...process.env, XDG_CACHE_HOME: cache };
    const first = await new InventoryCache(new ExecaRunner(false), [], env).get(inv);
    expect(first.hosts.get('rhizome')!.vars.db_password).toBe('hunter2-very-secret');
    const files = readdirSync(path.join(cache, 'coopctl', 'inventory'));
    expect(files).toHaveLength(1);
    const stored = readFileSync(path.join(cache, 'coopctl', 'inventory', files[0]), 'utf8');
    expect(stored).toContain('/srv/coopctl');
    expect(stored).not.toContain('hunter2');
    // a runner that must not be called: the cache answers
    const refusing = {
      dryRun: false,
      run: async () => {
        throw new Error('ansible-inventory ran again');
      },
    };
    const second = await new InventoryCache(refusing, [], env).get(inv);
    expect(second.hosts.get('rhizome')).toMatchObject({
      address: '127.0.0.1',
      vars: { coopctl_state_dir: '/srv/coopctl' },
    });
    writeFileSync(path.join(inv, 'hosts.yml'), 'all:\n  hosts:\n    rhizome:\n      ansible_host: 10.0.0.9\n');
    utimesSync(path.join(inv, 'hosts.yml'), new Date(), new Date(Date.now() + 5000));
    const third = await new InventoryCache(new ExecaRunner(false), [], env).get(inv);
    expect(third.hosts.get('rhizome')!.address).toBe('10.0.0.9');
  });
});

describe('become in the inventory', () => {
  const hosts = (vars: Record<string, unknown>) =>
    parseInventoryJson(JSON.stringify({ _meta: { hostvars: { pando: { ansible_user: 'ops', ...vars } } } }), 'inv');

  it('reads ansible_become, ansible_become_user (default root) and ansible_become_method (sudo)', () => {
    expect(hosts({ ansible_become: true }).hosts.get('pando')!.become).toEqual({ user: 'root', method: 'sudo' });
    expect(hosts({ ansible_become: 'yes', ansible_become_user: 'mastodon' }).hosts.get('pando')!.become).toEqual({
      user: 'mastodon',
      method: 'sudo',
    });
    expect(hosts({ ansible_become: 'True', ansible_become_method: 'sudo' }).hosts.get('pando')!.become?.user).toBe(
      'root',
    );
    expect(hosts({ ansible_become: false }).hosts.get('pando')!.become).toBeUndefined();
    expect(hosts({ ansible_become: 'no', ansible_become_method: 'su' }).hosts.get('pando')!.become).toBeUndefined();
    expect(hosts({}).hosts.get('pando')!.become).toBeUndefined();
  });

  it('refuses another become method and values that are not booleans or user names, as configuration errors', () => {
    const err = (vars: Record<string, unknown>) => {
      try {
        hosts(vars);
      } catch (e) {
        return e as { message: string; exitCode: number };
      }
      throw new Error('no error');
    };
    expect(err({ ansible_become: true, ansible_become_method: 'su' })).toMatchObject({
      exitCode: 2,
      message:
        'inv: host pando: ansible_become_method "su" is not supported: coopctl becomes another user with sudo only',
    });
    expect(err({ ansible_become: 'maybe' }).message).toBe(
      'inv: host pando: ansible_become "maybe" is not a boolean (true or false)',
    );
    expect(err({ ansible_become: true, ansible_become_user: 'root; id' }).exitCode).toBe(2);
  });
});
