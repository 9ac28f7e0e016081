import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteArgv } from '../../src/remote/quote.js';
import { appSql } from '../helpers/appSql.js';
import { coopctl, json } from '../helpers/cli.js';
import { sshToHost, startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/upgradeSandbox.js';
import { deployBackupBot } from '../world/coopcloud/server.js';
import { sandboxLayout } from '../world/layout.js';
import type { SandboxState } from '../world/state.js';

/**
 * The sandbox's Co-op Cloud server as coopctl meets it over SSH: each app's `db` a real server of its engine
 * (Bonfire's PostgreSQL, Keycloak's and MediaWiki's MariaDB),
 * `docker` a swarm stand-in (ps, exec, service ls, service scale), and the abra double acting on both.
 */
const BONFIRE = 'bonfire.sandbox';
const B1 = '1.0.0+1.0.5-social-amd64';
const B3 = '2.0.1+1.0.6-social-amd64';

let sb: TestSandbox;
let state: SandboxState;

beforeAll(async () => {
  sb = await startSandbox();
  state = JSON.parse(readFileSync(sandboxLayout(sb.dir).state, 'utf8')) as SandboxState;
}, 600_000);

afterAll(async () => {
  await sb?.down();
});

/** A command on hypha through its real sshd, as the operator's ssh runs it; stdout as bytes. */
const onHypha = (command: string) => sshToHost(sb.dir, 'hypha', command);

function text(command: string): string {
  const r = onHypha(command);
  expect(r.code, `${command}: ${r.stderr}`).toBe(0);
  return r.stdout.toString();
}

function abra(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(path.join(sandboxLayout(sb.dir).bin, 'abra'), [...args, '-n'], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * abra on a terminal, as backup-bot-two's commands need one (util-linux script(1), as the operators' CI wraps them);
 * `input` typed at it. What the terminal showed is stdout.
 */
function abraOnTerminal(args: string[], input = '', cwd?: string): { code: number; stdout: string } {
  const command = quoteArgv([path.join(sandboxLayout(sb.dir).bin, 'abra'), ...args, '-n']);
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    encoding: 'utf8',
    input,
    cwd,
    env: { ...process.env, SHELL: '/bin/sh' },
  });
  return { code: r.status ?? -1, stdout: r.stdout };
}

const dbOf = (stack: string) => text(`docker ps -q --filter label=com.docker.swarm.service.name=${stack}_db`).trim();
const sql = (stack: string, db: string, query: string) => appSql(sb.dir, stack, db, query);
const migrations = () => Number(sql('bonfire_sandbox', 'bonfire_db', 'SELECT count(*) FROM schema_migrations'));

function replicas(stack: string): Record<string, string> {
  const lines = text(
    `docker service ls --filter label=com.docker.stack.namespace=${stack} --format '{{json .}}'`,
  ).trim();
  const rows = lines.split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  for (const r of rows) expect(Object.keys(r).sort()).toEqual(['ID', 'Image', 'Mode', 'Name', 'Ports', 'Replicas']);
  return Object.fromEntries(rows.map((r) => [r.Name.slice(stack.length + 1), r.Replicas]));
}

async function status(domain: string): Promise<number> {
  const app = state.coopcloud.apps.find((a) => a.domain === domain)!;
  return (await fetch(`http://127.0.0.1:${app.port}/`)).status;
}

describe("hypha's swarm", () => {
  it("finds each app's db task and runs PostgreSQL's tools in it: a custom-format dump streams through SSH", () => {
    const id = dbOf('bonfire_sandbox');
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(
      text(`docker ps -q --filter label=com.docker.swarm.service.name=bonfire_sandbox_db --filter status=running`),
    ).toBe(`${id}\n`);
    const dump = onHypha(`docker exec -i ${id} pg_dump -U postgres -Fc -Z0 bonfire_db`);
    expect(dump.code, dump.stderr).toBe(0);
    const list = execFileSync('pg_restore', ['--list'], { input: dump.stdout, encoding: 'utf8' });
    expect(list).toMatch(/TABLE public bonfire_data_identity_user/);
    expect(list).toMatch(/TABLE DATA public schema_migrations/);
    // docker's CheckTty: -it over SSH without a terminal is refused before anything runs
    const tty = onHypha(`docker exec -it ${id} psql -U postgres -c "SELECT 1"`);
    expect([tty.code, tty.stderr.trim()]).toEqual([1, 'the input device is not a TTY']);
    const gone = onHypha('docker exec -i 0123456789ab psql -c "SELECT 1"');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('Error response from daemon: No such container: 0123456789ab');
  });

  it("runs MariaDB's tools in a MariaDB db task, in the container's environment; PostgreSQL's are not there", () => {
    const id = dbOf('wiki_sandbox');
    const env = text(`docker exec ${id} env`);
    expect(env).toMatch(/^MYSQL_ROOT_PASSWORD_FILE=\S+\/db_root_password$/m);
    expect(env).toMatch(/^MYSQL_DATABASE=mediawiki$/m);
    expect(env).not.toMatch(/PASSWORD=/);
    const dump = onHypha(
      `docker exec ${id} sh -c 'MYSQL_PWD=$(cat "$MYSQL_ROOT_PASSWORD_FILE") exec mariadb-dump --user=root mediawiki'`,
    );
    expect(dump.code, dump.stderr).toBe(0);
    expect(dump.stdout.toString()).toMatch(/^CREATE TABLE `page` \(/m);
    const psql = onHypha(`docker exec -i ${id} psql -U postgres -c "SELECT 1"`);
    expect(psql.code).toBe(127);
    expect(psql.stderr).toContain('exec: "psql": executable file not found in $PATH');
  });

  it('keeps each wiki in its own server: production and alpha hold different pages', () => {
    const titles = (stack: string) => sql(stack, 'mediawiki', 'SELECT page_title FROM page ORDER BY 1').split('\n');
    const [prod, alpha] = [titles('wiki_sandbox'), titles('wiki-alpha_sandbox')];
    expect(prod).toContain('Code_of_Conduct');
    expect(alpha).toContain('Staging_Notes');
    expect(prod.filter((t) => alpha.includes(t))).toEqual([]);
    expect(sql('auth_sandbox', 'keycloak', "SELECT NAME FROM REALM WHERE NAME = 'social.coop'")).toBe('social.coop');
  });

  it('lists services with their replicas as docker does, as JSON lines and as a table', () => {
    expect(replicas('bonfire_sandbox')).toEqual({ app: '1/1', db: '1/1' });
    const table = text('docker service ls').split('\n');
    expect(table[0]).toMatch(/^ID {3,}NAME {3,}MODE {3,}REPLICAS {3,}IMAGE {3,}PORTS$/);
    expect(table.find((l) => l.includes('auth_sandbox_db'))).toMatch(/replicated {3,}1\/1 {3,}mariadb:10\.11/);
  });
});

describe.skipIf(process.getuid?.() !== 0)('a login outside the docker group', () => {
  it("gets docker's permission denied, as the daemon's socket is root's and the group's", () => {
    const docker = path.join(sb.dir, 'hosts', 'hypha', 'bin', 'docker');
    const r = spawnSync('runuser', ['-u', 'nobody', '--', docker, 'ps', '-q'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^permission denied while trying to connect to the Docker daemon socket/);
  });
});

describe('abra on the swarm', () => {
  it("bonfire's empty pre-hook dump: abra's backup, on a terminal beside backup-bot-two, holds a dump of 0 bytes", () => {
    expect(abra(['app', 'backup', 'create', BONFIRE]).stderr).toContain('no backupbot discovered');
    deployBackupBot(sandboxLayout(sb.dir).host('hypha'), 'backups.sandbox');
    const bare = abra(['app', 'backup', 'create', BONFIRE]);
    expect([bare.code, bare.stderr]).toEqual([1, expect.stringContaining('the input device is not a TTY')]);
    const created = abraOnTerminal(['app', 'backup', 'create', BONFIRE]);
    expect(created.code, created.stdout).toBe(0);
    const id = /"snapshot_id":"([0-9a-f]{64})"/.exec(created.stdout)![1];
    const dump = '/var/lib/docker/volumes/bonfire_sandbox_db-data/_data/backup.sql';
    const ls = abraOnTerminal(['app', 'backup', 'ls', BONFIRE, '-s', id.slice(0, 8)]);
    expect(ls.stdout).toContain(dump);
    const into = mkdtempSync(path.join(os.tmpdir(), 'coopctl-download-'));
    try {
      const got = abraOnTerminal(['app', 'backup', 'download', BONFIRE, '-s', id.slice(0, 8), '-p', dump], '', into);
      expect(got.code, got.stdout).toBe(0);
      const [archive] = readdirSync(into);
      const listing = execFileSync('tar', ['-tvzf', path.join(into, archive)], { encoding: 'utf8' });
      expect(listing).toMatch(
        / 0 \d{4}-\d\d-\d\d \d\d:\d\d var\/lib\/docker\/volumes\/bonfire_sandbox_db-data\/_data\/backup\.sql$/m,
      );
    } finally {
      rmSync(into, { recursive: true, force: true });
    }
  });

  it('a failed upgrade leaves the new version deployed, its app task down (0/1, 502) and its migrations run', async () => {
    const before = migrations();
    expect(await status(BONFIRE)).toBe(200);
    expect((await sb.fault('hypha', 'abra-upgrade-fails')).code).toBe(0);
    const up = abra(['app', 'upgrade', BONFIRE, B3]);
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(/^FATA .*update paused due to failure or early termination of task$/m);
    expect(replicas('bonfire_sandbox')).toEqual({ app: '0/1', db: '1/1' });
    expect(text('docker ps -q --filter label=com.docker.swarm.service.name=bonfire_sandbox_app')).toBe('');
    expect(await status(BONFIRE)).toBe(502);
    // Ecto migrates up to 2.0.1 on boot, after a while (test/doubles/abra/tasks.ts): two migrations for each of
    // 2.0.0 and 2.0.1, run by the failed task
    await waitFor('the failed task to migrate on boot', () => migrations() === before + 4, 90_000, 500);

    expect((await sb.fault('--clear')).code).toBe(0);
    const back = abra(['app', 'rollback', BONFIRE, B1]);
    expect(back.code, back.stderr).toBe(0);
    expect(replicas('bonfire_sandbox')).toEqual({ app: '1/1', db: '1/1' });
    expect(await status(BONFIRE)).toBe(200);
    // no down-migrations on boot
    expect(migrations()).toBe(before + 4);
  });

  it('docker service scale to 0 takes the app down (502) until an abra deploy sets the replicas back', async () => {
    expect(text('docker service scale bonfire_sandbox_app=0 --detach')).toBe('bonfire_sandbox_app scaled to 0\n');
    expect(replicas('bonfire_sandbox')).toEqual({ app: '0/0', db: '1/1' });
    expect(await status(BONFIRE)).toBe(502);
    const bad = onHypha('docker service scale nothing_here=1 --detach');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('No such service: nothing_here');
    const deploy = abra(['app', 'deploy', BONFIRE, B1, '-f']);
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(replicas('bonfire_sandbox')).toEqual({ app: '1/1', db: '1/1' });
    expect(await status(BONFIRE)).toBe(200);
  });

  it("restoring the empty snapshot empties the app's database", () => {
    expect(migrations()).toBeGreaterThan(0);
    const r = abraOnTerminal(['app', 'restore', BONFIRE], 'YES\n');
    expect(r.code, r.stdout).toBe(0);
    expect(sql('bonfire_sandbox', 'bonfire_db', "SELECT to_regclass('public.schema_migrations') IS NULL")).toBe('t');
  });
});

describe('a reboot', () => {
  it('sandbox down stops every app database server; up starts them again with their data', async () => {
    const pidFile = path.join(sb.dir, 'hosts/hypha/apps/wiki_sandbox/mariadb/mariadbd.pid');
    expect(existsSync(pidFile)).toBe(true);
    const st = await coopctl(['--json', 'sandbox', 'status', '--dir', sb.dir]);
    const dbs = json<{ processes: Array<{ what: string; running: boolean }> }>(st).processes.filter((p) =>
      /PostgreSQL|MariaDB/.test(p.what),
    );
    expect(dbs.map((p) => [p.what, p.running])).toEqual([
      ['bonfire.sandbox PostgreSQL (bonfire_db)', true],
      ['auth.sandbox MariaDB (keycloak)', true],
      ['wiki.sandbox MariaDB (mediawiki)', true],
      ['wiki-alpha.sandbox MariaDB (mediawiki)', true],
    ]);
    await coopctl(['sandbox', 'down', '--dir', sb.dir]);
    expect(existsSync(pidFile)).toBe(false);
    const up = await coopctl(['sandbox', 'up', '--dir', sb.dir], {
      timeoutMs: 300_000,
    });
    expect(up.code, up.stderr).toBe(0);
    expect(sql('wiki_sandbox', 'mediawiki', "SELECT count(*) FROM page WHERE page_title = 'Main_Page'")).toBe('1');
  });
});
