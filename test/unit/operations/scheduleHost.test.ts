import { describe, expect, it } from 'vitest';
import { hostConfigDocument, hostInventory, scheduleUnits } from '../../../src/operations/scheduleHost.js';
import type { ScheduleConfig } from '../../../src/config/schema.js';

const operatorConfig = () => ({
  secrets: { passwordStore: 'secrets/pass' },
  ssh: { config: 'ssh/config', identityFile: 'ssh/id_ed25519', knownHosts: 'ssh/known_hosts', parallel: 8 },
  backup: {
    store: 's3',
    stores: { s3: { type: 's3', bucket: 'b', accessKeyId: { pass: 's3/id' }, secretAccessKey: { env: 'S3_KEY' } } },
    encryption: { recipients: ['age1ops', 'age1host'], identity: { pass: 'ops/age-identity' } },
    restoreTest: { inventory: 'inventories/alpha', host: 'pando' },
  },
  notify: { matrix: { homeserver: 'https://m', room: '!r:m', token: { pass: 'matrix/token' } } },
  schedule: { inventory: 'inventories/alpha', host: 'pando', identity: { pass: 'host/age-identity' } },
  services: {
    mastodon: {
      environments: { alpha: { inventory: 'inventories/alpha', host: 'pando', patches: ['patches/x.patch'] } },
    },
  },
});

describe('the schedule host’s coopctl.yaml', () => {
  it('secrets become files; the host’s own identity replaces the operators’; only what backups need', () => {
    const { config, secrets } = hostConfigDocument(operatorConfig(), { pass: 'host/age-identity' });
    expect(secrets.map((s) => [s.name, s.ref])).toEqual([
      ['backup.stores.s3.accessKeyId', { pass: 's3/id' }],
      ['backup.stores.s3.secretAccessKey', { env: 'S3_KEY' }],
      ['restore-test-identity', { pass: 'host/age-identity' }],
    ]);
    expect(JSON.stringify(config)).not.toMatch(/ops\/age-identity|matrix|pass/);
    expect(config).toMatchObject({
      ssh: { identityFile: 'secrets/id_ed25519', knownHosts: 'known_hosts', agent: false, parallel: 8 },
      backup: {
        stores: { s3: { accessKeyId: { file: 'secrets/backup.stores.s3.accessKeyId' } } },
        encryption: { identity: { file: 'secrets/restore-test-identity' } },
        restoreTest: { inventory: 'inventory.yml' },
      },
      services: { mastodon: { environments: { alpha: { inventory: 'inventory.yml' } } } },
    });
    expect((config.ssh as Record<string, unknown>).config).toBeUndefined();
    expect(config.schedule).toEqual({ inventory: 'inventory.yml', host: 'pando' });
  });

  it('a timer + service per target and kind; the inventory carries only what coopctl reads', () => {
    const schedule = {
      backup: { onCalendar: 'daily', randomizedDelay: 1_800_000 },
      restoreTest: { onCalendar: 'weekly', randomizedDelay: 3_600_000 },
    } as ScheduleConfig;
    expect(scheduleUnits(schedule, [{ service: 'mastodon', env: 'prod' }])).toEqual([
      expect.objectContaining({
        name: 'coopctl-backup-mastodon-prod',
        on_calendar: 'daily',
        randomized_delay_sec: 1800,
      }),
      expect.objectContaining({ name: 'coopctl-restore-test-mastodon-prod', kind: 'restore-test' }),
    ]);
    const inv = hostInventory([
      {
        name: 'rhizome',
        address: '10.0.0.3',
        port: 22,
        user: 'root',
        vars: { coopctl_state_dir: '/srv/coopctl' },
        inventory: 'inventories/prod',
      },
    ]);
    expect(inv).toContain('rhizome:\n      ansible_host: 10.0.0.3\n      ansible_port: 22\n      ansible_user: root\n');
    expect(inv).toContain('coopctl_state_dir: /srv/coopctl');
  });
});
