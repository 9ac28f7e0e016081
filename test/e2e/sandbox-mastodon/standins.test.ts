import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedMastodonData, startMastodonHost, stopMastodonHost } from '../../world/mastodon/host.js';
import { clusterAt, psql } from '../../world/postgres.js';
import { readPid } from '../../world/processes.js';
import { waitFor } from '../../world/net.js';
import {
  compose,
  createMastodonTestHost,
  hostEnv,
  httpGet,
  instanceVersion,
  processesUnder,
  runStandin,
  type MastodonTestHost,
  webGet,
} from '../../helpers/mastodonHost.js';

/**
 * The host stand-ins driven directly, as the playbook and coopctl drive
 * them over SSH: one host, one deployment story, against the host's real
 * PostgreSQL.
 */
let host: MastodonTestHost;
let mastodonDir: string;

const DB = 'mastodon_production';
const sql = (query: string) => psql(clusterAt(path.join(host.root, 'pg')), query, DB).trim();
const columns = (table: string) =>
  sql(
    `SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = '${table}'`,
  ).split(',');
/** A request to the web process as the instance's nginx sends it (its Host, X-Forwarded-Proto: https). */
const web = (p: string) => webGet(host.root, host.web, p);
/** The same request with other headers: as coopctl sent it before (none), or as a misconfigured proxy would. */
const bare = (p: string, headers: Record<string, string> = {}) =>
  httpGet(`http://${host.web.address}:${host.web.port}${p}`, headers);
const setFaults = (faults: Record<string, boolean>) =>
  writeFileSync(path.join(host.root, 'faults.json'), JSON.stringify(faults));

function writeCompose(version: string): void {
  const mastodon = (image: string, extra = '') =>
    `    image: ghcr.io/mastodon/${image}:v${version}\n    env_file: .env.production\n${extra}    depends_on:\n      - db\n      - redis\n`;
  writeFileSync(
    path.join(mastodonDir, 'docker-compose.yml'),
    `services:\n  db:\n    image: postgres:15-alpine\n  redis:\n    image: redis:7-alpine\n` +
      `  web:\n${mastodon('mastodon', '    command: bundle exec puma -C config/puma.rb\n')}` +
      `  streaming:\n${mastodon('mastodon-streaming')}` +
      `  sidekiq:\n${mastodon('mastodon', '    command: bundle exec sidekiq\n')}`,
  );
}

/** `skip`: the value of SKIP_POST_DEPLOYMENT_MIGRATIONS, unset when undefined. */
const migrate = (skip: string | undefined) =>
  compose(
    host.root,
    'run',
    '--rm',
    ...(skip !== undefined ? ['-e', `SKIP_POST_DEPLOYMENT_MIGRATIONS=${skip}`] : []),
    'web',
    'bundle',
    'exec',
    'rails',
    'db:migrate',
  );

beforeAll(async () => {
  host = await createMastodonTestHost();
  mastodonDir = path.join(host.root, 'opt', 'social.coop');
  writeFileSync(path.join(mastodonDir, '.env.production'), 'LOCAL_DOMAIN=alpha.test\nDB_NAME=mastodon_production\n');
});

afterAll(async () => {
  await host?.close();
});

describe('docker compose stand-in', () => {
  it('pulls an image from the fixture upstream once, like docker compose pull', async () => {
    writeCompose('4.4.7');
    const first = await compose(host.root, 'pull');
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(' web Pulled');
    expect(first.stderr).toContain('Pull complete');
    expect(first.stderr).toContain('sidekiq Skipped - Image is already being pulled by web');
    expect(existsSync(path.join(host.root, 'images/ghcr.io/mastodon/mastodon/v4.4.7/lib/mastodon/version.rb'))).toBe(
      true,
    );
    const again = await compose(host.root, 'pull');
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('Pull complete');
  });

  it('fails to pull a tag the upstream does not have, with docker\'s "manifest unknown"', async () => {
    writeCompose('4.9.9');
    const r = await compose(host.root, 'pull');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/manifest for ghcr\.io\/mastodon\/mastodon:v4\.9\.9 not found: manifest unknown/);
    writeCompose('4.4.7');
  });

  it('runs pre-deployment migrations only with SKIP_POST_DEPLOYMENT_MIGRATIONS, and nothing when none is pending', async () => {
    const pre = await migrate('true');
    expect(pre.code).toBe(0);
    const out = pre.stdout.toString();
    expect(out).toMatch(/^== 20160220174730 CreateAccounts: migrating =+$/m);
    expect(out).toMatch(/^== 20250312101900 AddFetchedRepliesAtToStatuses: migrated \(\d+\.\d{4}s\) =+$/m);
    expect(sql('SELECT count(*) FROM schema_migrations')).toBe('5');
    expect(columns('users')).toContain('otp_secret');
    const post = await migrate(undefined);
    expect(post.code).toBe(0);
    expect(post.stdout.toString()).toBe('');
  });

  it("starts web and streaming on up -d, serving the image's version and post limit", async () => {
    const up = await compose(host.root, 'up', '-d');
    expect(up.code).toBe(0);
    expect(up.stderr).toMatch(/Container socialcoop-web-1 {2}Started$/m);
    expect((await web('/health')).body).toBe('OK');
    const instance = JSON.parse((await web('/api/v2/instance')).body);
    expect(instance).toMatchObject({
      domain: 'alpha.test',
      version: '4.4.7',
      configuration: { statuses: { max_characters: 500 } },
    });
    expect(JSON.parse((await web('/api/v1/instance')).body)).toMatchObject({ domain: 'alpha.test', version: '4.4.7' });
    expect(
      (await httpGet(`http://${host.streaming.address}:${host.streaming.port}/api/v1/streaming/health`)).body,
    ).toBe('OK');
    const again = await compose(host.root, 'up', '-d');
    expect(again.stderr).not.toMatch(/(Created|Recreated|Started)$/m);
    expect(again.stderr).toMatch(/Container socialcoop-web-1 {2}Running$/m);
  });

  it("refuses what production's Rails refuses: another Host (403), plain http (301); /health exempt", async () => {
    // as coopctl asked before: the address as Host, no X-Forwarded-Proto
    const blocked = await bare('/api/v2/instance');
    expect(blocked.status).toBe(403);
    expect(blocked.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(blocked.body).toContain(`<h1>Blocked host: ${host.web.address}</h1>`);
    // a Host of another case, or with a port, is the instance still (Rails matches names case-insensitively)
    expect((await bare('/api/v2/instance', { host: 'Alpha.Test:3000', 'x-forwarded-proto': 'https' })).status).toBe(
      200,
    );
    // the right Host but plain http: a redirect to https, its port the Host's; never the app's answer
    const plain = await bare('/api/v2/instance?x=1', { host: 'alpha.test' });
    expect(plain).toMatchObject({ status: 301, body: '' });
    expect(plain.headers.location).toBe('https://alpha.test/api/v2/instance?x=1');
    expect((await bare('/api/v2/instance', { host: 'alpha.test:8080' })).headers.location).toBe(
      'https://alpha.test:8080/api/v2/instance',
    );
    // rack takes the last scheme of X-Forwarded-Proto, and an X-Forwarded-Host must be allowed too
    expect((await bare('/api/v2/instance', { host: 'alpha.test', 'x-forwarded-proto': 'https, http' })).status).toBe(
      301,
    );
    const forwarded = await bare('/api/v2/instance', {
      host: 'alpha.test',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
    });
    expect(forwarded.status).toBe(403);
    expect(forwarded.body).toContain('Blocked host: evil.example');
    // /health alone passes both; /health/x is exempt from https only, not from the host check
    expect(await bare('/health')).toMatchObject({ status: 200, body: 'OK' });
    expect((await bare('/health/x')).status).toBe(403);
    expect((await bare('/health/x', { host: 'alpha.test' })).status).toBe(404);
    // the web process does not serve streaming: it sends clients to the streaming base URL (wss://WEB_DOMAIN)
    const streamingOnWeb = await web('/api/v1/streaming/health');
    expect(streamingOnWeb.status).toBe(301);
    expect(streamingOnWeb.headers.location).toBe('https://alpha.test/api/v1/streaming/health');
    // the streaming server checks neither
    expect(
      (await httpGet(`http://${host.streaming.address}:${host.streaming.port}/api/v1/streaming/health`)).body,
    ).toBe('OK');
  });

  it('serves the public timeline from the host database', async () => {
    await seedMastodonData(host.root, { accounts: 3, statuses: 7 });
    await seedMastodonData(host.root, { accounts: 3, statuses: 7 });
    expect(sql('SELECT count(*) FROM statuses')).toBe('7');
    const r = await web('/api/v1/timelines/public?limit=3');
    expect(r.status).toBe(200);
    const statuses = JSON.parse(r.body) as Array<{ id: string; content: string; account: { username: string } }>;
    expect(statuses).toHaveLength(3);
    expect(Number(statuses[0].id)).toBeGreaterThan(Number(statuses[1].id));
    expect(['admin', 'alice', 'bob']).toContain(statuses[0].account.username);
  });

  it('answers exec and run in the containers: tootctl, redis, and binary-safe PostgreSQL tools', async () => {
    expect((await compose(host.root, 'exec', '-T', 'web', 'bin/tootctl', 'version')).stdout.toString()).toBe('4.4.7\n');
    expect((await compose(host.root, 'run', '--rm', 'web', 'bin/tootctl', 'version')).stdout.toString()).toBe(
      '4.4.7\n',
    );
    expect((await compose(host.root, 'exec', '-T', 'redis', 'redis-server', '--version')).stdout.toString()).toMatch(
      /^Redis server v=7\.\d+\.\d+ /,
    );
    const dump = await compose(host.root, 'exec', '-T', 'db', 'pg_dump', '-U', 'postgres', '-Fc', DB);
    expect(dump.code).toBe(0);
    expect(dump.stdout.subarray(0, 5).toString('latin1')).toBe('PGDMP');
    const list = await runStandin(host.root, 'docker', ['compose', 'exec', '-T', 'db', 'pg_restore', '-l'], {
      input: dump.stdout,
    });
    expect(list.code).toBe(0);
    expect(list.stdout.toString()).toMatch(/TABLE public statuses postgres/);
    const missing = await compose(host.root, 'exec', '-T', 'db', 'no-such-tool');
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('executable file not found in $PATH');
  });

  it('refuses a terminal exec whose stdin is not one, as compose v2 does when its stdout is a terminal', async () => {
    // script(1) gives docker a terminal for stdout; stdin stays /dev/null: without -T compose asks for a TTY
    const term = (args: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(
          'script',
          ['-qec', `'${path.join(host.root, 'bin', 'docker')}' ${args} < /dev/null`, '/dev/null'],
          {
            env: hostEnv(host.root),
            cwd: path.join(host.root, 'opt', 'social.coop'),
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let out = '';
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
        });
        child.on('close', (code) => resolve({ code, out }));
      });
    const refused = await term('compose exec redis redis-cli --version');
    expect([refused.code, refused.out.trim()]).toEqual([1, 'the input device is not a TTY']);
    const allowed = await term('compose exec -T redis redis-cli --version');
    expect(allowed.code, allowed.out).toBe(0);
    expect(allowed.out).toMatch(/^redis-cli 7\./);
  });

  it('lists containers with ps, also as JSON lines', async () => {
    const r = await compose(host.root, 'ps', '--format', 'json');
    const rows = r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { Service: string; State: string; Image: string });
    expect(rows.map((x) => x.Service)).toEqual(['db', 'redis', 'web', 'streaming', 'sidekiq']);
    expect(rows.every((x) => x.State === 'running')).toBe(true);
    expect(rows.find((x) => x.Service === 'web')?.Image).toBe('ghcr.io/mastodon/mastodon:v4.4.7');
    expect((await compose(host.root, 'ps')).stdout.toString()).toMatch(/^NAME +IMAGE +COMMAND +SERVICE/);
  });

  it('with migration-fails, applies the first pending migration and fails the next like PostgreSQL', async () => {
    writeCompose('4.5.0-rc.1');
    expect((await compose(host.root, 'pull')).code).toBe(0);
    setFaults({ 'migration-fails': true });
    const failed = await migrate('true');
    expect(failed.code).toBe(1);
    expect(failed.stdout.toString()).toMatch(/CreateQuotes: migrated/);
    expect(failed.stdout.toString()).toMatch(/AddQuoteApprovalPolicyToStatuses: migrating/);
    expect(failed.stderr).toContain('PG::LockNotAvailable: ERROR:  canceling statement due to lock timeout');
    expect(sql("SELECT to_regclass('public.quotes') IS NOT NULL")).toBe('t');
    expect(columns('statuses')).not.toContain('quote_approval_policy');
    setFaults({});
    // Mastodon only asks whether the variable is set (lib/mastodon/database.rb): an empty value skips as well
    const retried = await migrate('');
    expect(retried.code).toBe(0);
    expect(retried.stdout.toString()).not.toContain('CreateQuotes');
    expect(columns('statuses')).toContain('quote_approval_policy');
    expect(columns('users')).toContain('otp_secret');
  });

  it('recreates web on a new image, then post-deployment migrations drop the old column', async () => {
    const up = await compose(host.root, 'up', '-d');
    expect(up.stderr).toMatch(/Container socialcoop-web-1 {2}Recreated$/m);
    expect(up.stderr).toMatch(/Container socialcoop-db-1 {2}Running$/m);
    expect(await instanceVersion(host)).toBe('4.5.0-rc.1');
    const post = await migrate(undefined);
    expect(post.code).toBe(0);
    expect(post.stdout.toString()).toMatch(/RemoveLegacyOtpSecretFromUsers: migrated/);
    expect(post.stdout.toString()).toMatch(/AddIndexStatusesOnAccountIdId: migrated/);
    expect(columns('users')).not.toContain('otp_secret');
    expect((await web('/api/v1/timelines/public?limit=2')).status).toBe(200);
    writeCompose('4.5.0');
    expect((await compose(host.root, 'pull')).code).toBe(0);
    expect((await migrate('true')).stdout.toString()).toBe('');
    expect((await compose(host.root, 'up', '-d')).code).toBe(0);
    const instance = JSON.parse((await web('/api/v2/instance')).body);
    expect(instance.version).toBe('4.5.0');
    expect(instance.api_versions).toEqual({ mastodon: 7 });
  });

  it('with health-fails, /health and the timeline answer 503 until the fault is cleared', async () => {
    setFaults({ 'health-fails': true });
    expect((await web('/health')).status).toBe(503);
    expect((await web('/api/v1/timelines/public')).status).toBe(503);
    expect((await web('/api/v2/instance')).status).toBe(200);
    setFaults({});
    expect(await web('/health')).toMatchObject({ status: 200, body: 'OK' });
  });

  it('restarts the web process', async () => {
    const before = readPid(path.join(host.root, 'run', 'mastodon-web.pid'));
    const r = await compose(host.root, 'restart', 'web', 'streaming', 'sidekiq');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Container socialcoop-web-1 {2}Restarting\n/);
    expect(readPid(path.join(host.root, 'run', 'mastodon-web.pid'))).not.toBe(before);
    expect((await web('/health')).body).toBe('OK');
  });
});

describe('systemctl stand-in', () => {
  const unitFile = () => path.join(host.root, 'etc', 'systemd', 'system', 'mastodon.service');
  const systemctl = (...args: string[]) => runStandin(host.root, 'systemctl', args, { cwd: host.root });

  it('enables a unit with a wants symlink, as systemd reports it', async () => {
    writeFileSync(
      unitFile(),
      `[Unit]\nDescription=Mastodon (alpha.test)\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nWorkingDirectory=${mastodonDir}\n` +
        `ExecStart=/usr/bin/docker compose up -d --remove-orphans\nExecStop=/usr/bin/docker compose stop\n\n[Install]\nWantedBy=multi-user.target\n`,
    );
    expect((await systemctl('daemon-reload')).code).toBe(0);
    const enable = await systemctl('enable', 'mastodon');
    expect(enable.code).toBe(0);
    expect(enable.stderr).toBe(
      'Created symlink /etc/systemd/system/multi-user.target.wants/mastodon.service → /etc/systemd/system/mastodon.service.\n',
    );
    expect((await systemctl('enable', 'mastodon')).stderr).toBe('');
    expect((await systemctl('is-enabled', 'mastodon.service')).stdout.toString()).toBe('enabled\n');
  });

  it('starts and stops the unit by running its Exec lines (docker on PATH, not /usr/bin/docker)', async () => {
    const inactive = await systemctl('is-active', 'mastodon');
    expect([inactive.code, inactive.stdout.toString()]).toEqual([3, 'inactive\n']);
    expect((await systemctl('start', 'mastodon')).code).toBe(0);
    expect((await systemctl('is-active', 'mastodon')).stdout.toString()).toBe('active\n');
    // systemctl(1): is-active exits 0 when at least one of the units is active
    const some = await systemctl('is-active', 'mastodon', 'nope');
    expect([some.code, some.stdout.toString()]).toEqual([0, 'active\ninactive\n']);
    expect((await systemctl('status', 'mastodon')).stdout.toString()).toMatch(/Active: active \(exited\)/);
    const stop = await systemctl('stop', 'mastodon');
    expect(stop.code).toBe(0);
    expect((await systemctl('is-active', 'mastodon')).code).toBe(3);
    await expect(web('/health')).rejects.toThrow();
    const ps = (await compose(host.root, 'ps', '-a', '--format', 'json')).stdout.toString().trim().split('\n');
    expect(ps.map((l) => (JSON.parse(l) as { State: string }).State)).toEqual([
      'exited',
      'exited',
      'exited',
      'exited',
      'exited',
    ]);
    expect((await systemctl('restart', 'mastodon')).code).toBe(0);
    expect(await instanceVersion(host)).toBe('4.5.0');
  });

  it('fails a job whose command fails, and reports unknown units', async () => {
    const missing = await systemctl('start', 'nope');
    expect([missing.code, missing.stderr]).toEqual([5, 'Failed to start nope.service: Unit nope.service not found.\n']);
    writeFileSync(
      path.join(host.root, 'etc', 'systemd', 'system', 'broken.service'),
      '[Service]\nType=oneshot\nExecStart=/bin/false\n',
    );
    const broken = await systemctl('start', 'broken');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      /^Job for broken\.service failed because the control process exited with error code\./,
    );
    expect((await systemctl('is-active', 'broken')).stdout.toString()).toBe('failed\n');
  });
});

describe('host lifecycle', () => {
  it('stopMastodonHost leaves no process; startMastodonHost brings the enabled unit back', async () => {
    await stopMastodonHost(host.root);
    expect(processesUnder(host.root)).toEqual([]);
    await startMastodonHost(host.root);
    // under load the new web process may still be settling for a moment after its pid file appears
    expect(await waitFor('web answers', () => instanceVersion(host), 10_000)).toBe('4.5.0');
    expect((await runStandin(host.root, 'systemctl', ['is-active', 'mastodon'])).stdout.toString()).toBe('active\n');
  });

  it('docker compose down stops and removes everything', async () => {
    const down = await compose(host.root, 'down');
    expect(down.code).toBe(0);
    expect(down.stderr).toMatch(/Container socialcoop-web-1 {2}Removed$/m);
    expect(processesUnder(host.root)).toEqual([]);
    expect((await compose(host.root, 'ps', '-a')).stdout.toString().trim().split('\n')).toHaveLength(1);
  });
});
