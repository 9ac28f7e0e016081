import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMastodonTestHost,
  httpGet,
  instanceVersion,
  runPlaybook,
  type MastodonTestHost,
  type PlaybookRun,
} from '../helpers/mastodonHost.js';

/**
 * The production playbook, for real: ansible-playbook over SSH (a real sshd
 * on loopback) against a sandbox host whose only doubles are docker and
 * systemctl.
 */
let host: MastodonTestHost;

const explain = (r: PlaybookRun) => `exit ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`;
const results = (r: PlaybookRun) =>
  r.events.filter((e) => e.event === 'task_result') as Array<{ task: string; status: string; changed: boolean }>;
const changedTasks = (r: PlaybookRun) =>
  results(r)
    .filter((e) => e.changed)
    .map((e) => e.task.replace(/^mastodon : /, ''));

beforeAll(async () => {
  host = await createMastodonTestHost({ ssh: true });
});

afterAll(async () => {
  await host?.close();
});

describe('playbooks/mastodon.yml', () => {
  it('deploys 4.4.7 on a fresh host: compose file, unit, images, migrations, containers', async () => {
    const r = await runPlaybook(host, '4.4.7');
    expect(r.code, explain(r)).toBe(0);
    expect(await instanceVersion(host)).toBe('4.4.7');
    expect(
      (await httpGet(`http://${host.streaming.address}:${host.streaming.port}/api/v1/streaming/health`)).body,
    ).toBe('OK');
    const dir = path.join(host.root, 'opt', 'social.coop');
    expect(readFileSync(path.join(dir, 'docker-compose.yml'), 'utf8')).toContain(
      'image: ghcr.io/mastodon/mastodon:v4.4.7',
    );
    expect(statSync(path.join(dir, '.env.production')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dir, '.env.production'), 'utf8')).toMatch(
      /^ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY=[0-9a-f]{32}$/m,
    );
    expect(readFileSync(path.join(host.root, 'etc/systemd/system/mastodon.service'), 'utf8')).toContain(
      `WorkingDirectory=${dir}\n`,
    );
    expect(changedTasks(r)).toEqual(
      expect.arrayContaining([
        'Pull the images',
        'Run pre-deployment database migrations',
        'Start the containers on the new images',
        'Enable the Mastodon unit at boot',
        'Start the Mastodon unit',
      ]),
    );
    // The JSON-lines callback: playbook start, every task announced before its result, stats last.
    expect(r.events[0]).toMatchObject({ event: 'playbook_start' });
    const firstResult = r.events.findIndex((e) => e.event === 'task_result');
    expect(r.events[firstResult - 1]).toMatchObject({
      event: 'task_start',
      task: 'mastodon : Check the requested Mastodon version',
    });
    expect(r.events.at(-1)).toMatchObject({ event: 'stats', hosts: { alpha: { failed: 0 } } });
    expect(JSON.stringify(r.events)).not.toMatch(/SECRET_KEY_BASE=/);
  });

  it('changes nothing when run again with the same version', async () => {
    const r = await runPlaybook(host, '4.4.7');
    expect(r.code, explain(r)).toBe(0);
    expect(changedTasks(r)).toEqual([]);
    expect(r.stats.changed).toBe(0);
  });

  it('upgrades to 4.4.8: new images, post-deployment migration, restart', async () => {
    const r = await runPlaybook(host, '4.4.8', ['--diff']);
    expect(r.code, explain(r)).toBe(0);
    expect(await instanceVersion(host)).toBe('4.4.8');
    expect(changedTasks(r)).toEqual([
      'Write docker-compose.yml',
      'Pull the images',
      'Start the containers on the new images',
      'Run post-deployment database migrations',
      'Restart web, streaming and sidekiq after post-deployment migrations',
    ]);
    expect(r.stdout).toMatch(/^-\s+image: ghcr\.io\/mastodon\/mastodon:v4\.4\.7$/m);
    expect(r.stdout).toMatch(/^\+\s+image: ghcr\.io\/mastodon\/mastodon:v4\.4\.8$/m);
  });

  it('--check --diff afterwards changes nothing; for another version it shows the diff without applying it', async () => {
    const same = await runPlaybook(host, '4.4.8', ['--check', '--diff']);
    expect(same.code, explain(same)).toBe(0);
    expect(same.stats.changed).toBe(0);
    const other = await runPlaybook(host, '4.5.0', ['--check', '--diff']);
    expect(other.code, explain(other)).toBe(0);
    expect(changedTasks(other)).toEqual(['Write docker-compose.yml']);
    expect(other.stdout).toMatch(/^\+\s+image: ghcr\.io\/mastodon\/mastodon:v4\.5\.0$/m);
    expect(other.stdout).not.toContain('SECRET_KEY_BASE');
    expect(await instanceVersion(host)).toBe('4.4.8');
  });

  it('refuses a version that is not MAJOR.MINOR.PATCH[-PRE] before touching the host', async () => {
    const r = await runPlaybook(host, 'v4.5.0');
    expect(r.code).toBe(2);
    const failed = results(r).filter((e) => e.status === 'failed');
    expect(failed).toEqual([
      expect.objectContaining({
        task: 'mastodon : Check the requested Mastodon version',
        msg: expect.stringContaining("got 'v4.5.0'"),
      }),
    ]);
    expect(await instanceVersion(host)).toBe('4.4.8');
  });
});
