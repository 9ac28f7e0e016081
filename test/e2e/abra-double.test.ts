import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecaRunner } from '../../src/kernel/process.js';
import { AbraClient } from '../../src/drivers/abra/client.js';
import { AbraError } from '../../src/drivers/abra/errors.js';
import {
  clearCoopCloudFaults,
  defaultCoopCloudApps,
  deployBackupBot,
  prepareCoopCloud,
  setCoopCloudFault,
  stopCoopCloudHealth,
  swarmPath,
  writeAbraWrapper,
} from '../world/coopcloud/server.js';
import { git } from '../world/coopcloud/git.js';
import { createRecipeRepo, fixtureRecipe } from '../world/coopcloud/recipes.js';
import { freePort } from '../world/net.js';
import { readSwarm, updateSwarm } from '../doubles/abra/swarm.js';

/**
 * The abra double run for real (node build/world/test/doubles/abra.js through
 * its sh wrapper) by coopctl's driver, against fixture recipe repos in a temp
 * ABRA_DIR; a throwaway TCP listener greeting with an SSH banner stands in
 * for hypha's sshd.
 */
const SERVER = 'hypha.test';
const BONFIRE = 'bonfire.test';
const AUTH = 'auth.test';
const WIKI = 'wiki.test';
const WIKI_ALPHA = 'wiki-alpha.test';
const B1 = '1.0.0+1.0.5-social-amd64';
const B2 = '2.0.0+1.0.5-social-amd64';
const B3 = '2.0.1+1.0.6-social-amd64';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
const root = path.join(tmp, 'hosts', 'hypha');
const abraDir = path.join(tmp, 'abra');
const listeners: net.Server[] = [];
let driver: AbraClient;
let bin: string;
let ports: Record<string, number> = {};

function listen(onConnection: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    onConnection(s);
  });
  listeners.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

async function failure(p: Promise<unknown>): Promise<AbraError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AbraError);
  return err as AbraError;
}

const envFile = (domain: string) => readFileSync(path.join(abraDir, 'servers', SERVER, `${domain}.env`), 'utf8');
const swarmApp = (domain: string) => readSwarm(swarmPath(root)).apps[domain];
const deployed = async (domain: string) => (await driver.listApps(SERVER)).find((a) => a.domain === domain);

async function health(domain: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${ports[domain]}/`);
  return { status: res.status, body: await res.text() };
}

beforeAll(async () => {
  const sshPort = await listen((s) => s.end('SSH-2.0-x\r\n'));
  const apps = defaultCoopCloudApps('test', 0);
  for (const a of apps) a.port = await freePort();
  ports = Object.fromEntries(apps.map((a) => [a.domain, a.port]));
  await prepareCoopCloud({ root, abraDir, server: SERVER, ssh: { host: '127.0.0.1', port: sshPort }, apps });
  updateSwarm(swarmPath(root), (s) => {
    // long enough to see it unsettled on a loaded machine; the test then waits for it to settle
    s.convergeDelaySeconds = 5;
  });
  bin = await writeAbraWrapper(path.join(tmp, 'bin'));
  driver = new AbraClient({ runner: new ExecaRunner(false), settings: { bin, dir: abraDir } });
});

afterAll(async () => {
  await stopCoopCloudHealth(root);
  for (const l of listeners) l.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('the sandbox server', () => {
  it('starts with the apps deployed, their env files pinned, and traefik answering per app', async () => {
    const apps = await driver.listApps(SERVER);
    expect(apps.map((a) => [a.domain, a.recipe, a.status, a.version])).toEqual([
      [AUTH, 'keycloak', 'deployed', '7.0.0+25.0.6'],
      [BONFIRE, 'bonfire', 'deployed', B1],
      [WIKI_ALPHA, 'mediawiki', 'deployed', '1.1.0+1.42.1'],
      [WIKI, 'mediawiki', 'deployed', '1.1.0+1.42.1'],
    ]);
    expect(apps.find((a) => a.domain === BONFIRE)?.upgrade).toEqual({ kind: 'available', versions: [B2, B3] });
    expect(envFile(BONFIRE)).toMatch(new RegExp(`^TYPE=bonfire:${B1.replace(/\+/g, '\\+')}$`, 'm'));
    expect(await health(AUTH)).toEqual({
      status: 200,
      body: `${JSON.stringify({ app: AUTH, recipe: 'keycloak', version: '7.0.0+25.0.6' })}\n`,
    });
    // users.md: `abra app backup` does not work for Bonfire — the sandbox starts with that fault on
    expect(readSwarm(swarmPath(root)).faults).toEqual({ [BONFIRE]: ['backup-empty-dump'] });
  });

  it('reports the version abra claims to be', async () => {
    expect(await driver.abraVersion()).toEqual({
      raw: 'abra version 0.13.0-beta-06a57de',
      version: '0.13.0-beta',
      commit: '06a57de',
    });
  });
});

describe('upgrade', () => {
  it('refuses an explicit version that is not greater, and changes nothing', async () => {
    const err = await failure(driver.upgradeApp(BONFIRE, B1));
    expect(err.kind).toBe('version-refused');
    expect(err.fatal).toContain(`${B1} is not an upgrade for ${B1}`);
    expect(swarmApp(BONFIRE).version).toBe(B1);
  });

  it('upgrades to a greater version: overview, release notes of (deployed, target], TYPE rewritten, swarm updated', async () => {
    const r = await driver.upgradeApp(BONFIRE, B2);
    expect(r.changed).toBe(true);
    expect(r.stdout).toContain('UPGRADE OVERVIEW');
    expect(r.stdout).toMatch(/│ NEW VERSION\s+│ 2\.0\.0\+1\.0\.5-social-amd64/);
    expect(r.stdout).toContain('search backend was removed');
    expect(r.stdout).not.toContain('ATTENTION: this is the first release');
    expect(envFile(BONFIRE)).toMatch(/^TYPE=bonfire:2\.0\.0\+1\.0\.5-social-amd64$/m);
    expect((await deployed(BONFIRE))?.version).toBe(B2);
    expect((await health(BONFIRE)).body).toContain(B2);
    expect(await driver.recipeCheckoutClean('bonfire')).toEqual({ clean: true, changes: [] });
  });

  it('picks the newest version without one, then says there is nothing newer (exit 0)', async () => {
    expect((await driver.upgradeApp(BONFIRE)).changed).toBe(true);
    expect(swarmApp(BONFIRE).version).toBe(B3);
    const again = await driver.upgradeApp(BONFIRE);
    expect(again.changed).toBe(false);
    expect(again.stderr).toContain('no available upgrades');
    expect((await deployed(BONFIRE))?.upgrade).toEqual({ kind: 'latest' });
  });

  it('refuses versions the recipe does not have', async () => {
    expect((await failure(driver.upgradeApp(AUTH, '9.0.0+27.0.0'))).fatal).toBe(
      '9.0.0+27.0.0 is not a known version of keycloak',
    );
  });
});

describe('deploy and rollback', () => {
  it('deploy refuses an app that is already deployed, unless forced; forced, it downgrades without a word', async () => {
    expect((await failure(driver.deployApp(BONFIRE))).kind).toBe('already-deployed');
    const r = await driver.deployApp(BONFIRE, B1, { force: true });
    expect(r.stdout).toContain('DEPLOY OVERVIEW');
    expect(swarmApp(BONFIRE).version).toBe(B1);
    expect(envFile(BONFIRE)).toMatch(/^TYPE=bonfire:1\.0\.0\+1\.0\.5-social-amd64$/m);
  });

  it('rollback only goes to lower versions; without one it takes the previous release', async () => {
    expect((await failure(driver.rollbackApp(AUTH, '8.0.0+26.0.5'))).kind).toBe('version-refused');
    const none = await driver.rollbackApp(AUTH);
    expect(none.changed).toBe(false);
    expect(none.stderr).toContain('no available downgrades');
    await driver.upgradeApp(AUTH, '8.0.1+26.0.7');
    expect((await driver.rollbackApp(AUTH)).changed).toBe(true);
    expect(swarmApp(AUTH).version).toBe('8.0.0+26.0.5');
    expect(envFile(AUTH)).toMatch(/^TYPE=keycloak:8\.0\.0\+26\.0\.5$/m);
  });

  it('deploys an undeployed app at the version its env file pins, chaos deploys the working tree', async () => {
    writeFileSync(
      path.join(abraDir, 'servers', SERVER, 'old-wiki.test.env'),
      'TYPE=mediawiki:1.0.0+1.41.1\nDOMAIN=old-wiki.test\n',
    );
    // the harsher reading of an undeployed app's status (reference: abra's app ls, U)
    expect((await deployed('old-wiki.test'))?.status).toBe('unknown');
    await driver.deployApp('old-wiki.test');
    expect(swarmApp('old-wiki.test')).toMatchObject({ version: '1.0.0+1.41.1', status: 'deployed', chaos: false });

    await driver.deployApp('old-wiki.test', undefined, { chaos: true });
    const app = await deployed('old-wiki.test');
    // the version label of the checked-out tree (the deploy before checked 1.0.0+1.41.1 out), and its commit
    expect(app).toMatchObject({ chaos: true, version: '1.0.0+1.41.1', upgrade: { kind: 'unknown' } });
    expect(app?.chaosVersion).toMatch(/^[0-9a-f]{8}$/);
    await driver.deployApp('old-wiki.test', '1.0.0+1.41.1', { force: true });
  });

  it('refuses to work from a dirty recipe checkout', async () => {
    const stray = path.join(abraDir, 'recipes', 'mediawiki', 'compose.override.yml');
    writeFileSync(stray, 'services: {}\n');
    try {
      expect((await driver.recipeCheckoutClean('mediawiki')).clean).toBe(false);
      const err = await failure(driver.upgradeApp(WIKI_ALPHA));
      expect(err.kind).toBe('dirty-recipe');
      expect(err.fatal).toContain('has locally unstaged changes');
      expect(swarmApp(WIKI_ALPHA).version).toBe('1.1.0+1.42.1');
    } finally {
      rmSync(stray);
    }
  });
});

describe('faults', () => {
  it('abra-upgrade-fails: FATA after the stack took the new version, whose app task fails; a rollback heals it', async () => {
    setCoopCloudFault(root, WIKI_ALPHA, 'abra-upgrade-fails', true);
    const err = await failure(driver.upgradeApp(WIKI_ALPHA));
    expect(err.kind).toBe('other');
    expect(err.fatal).toContain('update paused due to failure or early termination of task');
    // as in production: env pinned, label moved, the new task unhealthy (traefik has no backend)
    expect(envFile(WIKI_ALPHA)).toMatch(/^TYPE=mediawiki:1\.1\.1\+1\.42\.3$/m);
    expect(swarmApp(WIKI_ALPHA)).toMatchObject({ version: '1.1.1+1.42.3', healthy: false });
    expect((await health(WIKI_ALPHA)).status).toBe(502);
    await driver.rollbackApp(WIKI_ALPHA, '1.1.0+1.42.1');
    expect(swarmApp(WIKI_ALPHA)).toMatchObject({ version: '1.1.0+1.42.1', healthy: true });
    expect((await health(WIKI_ALPHA)).status).toBe(200);
    setCoopCloudFault(root, WIKI_ALPHA, 'abra-upgrade-fails', false);
  });

  it("the wiki is a chaos deploy of the co-op's fork: app ls labels it; upgrade refuses it, deploy -f takes a release", async () => {
    const wiki = await deployed(WIKI);
    expect(wiki).toMatchObject({ chaos: true, version: '1.1.0+1.42.1' });
    expect(wiki?.chaosVersion).toMatch(/^[0-9a-f]{8}$/);
    const err = await failure(driver.upgradeApp(WIKI, '1.1.1+1.42.3'));
    expect(err.fatal).toContain('runs a chaos version');
    expect(swarmApp(WIKI)).toMatchObject({ chaos: true, version: '1.1.0+1.42.1' });
  });

  it('converge-timeout: "deploy failed", though the swarm took the new version and settles later', async () => {
    setCoopCloudFault(root, WIKI_ALPHA, 'converge-timeout', true);
    const err = await failure(driver.upgradeApp(WIKI_ALPHA));
    expect(err.kind).toBe('converge-timeout');
    expect(err.fatal).toContain('deploy failed');
    expect((await deployed(WIKI_ALPHA))?.version).toBe('1.1.1+1.42.3');
    expect(envFile(WIKI_ALPHA)).toMatch(/^TYPE=mediawiki:1\.1\.1\+1\.42\.3$/m);
    expect((await health(WIKI_ALPHA)).status).toBe(502);
    const deadline = Date.now() + 15_000;
    while ((await health(WIKI_ALPHA)).status !== 200 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 250));
    expect(await health(WIKI_ALPHA)).toMatchObject({ status: 200, body: expect.stringContaining('1.1.1+1.42.3') });
  });

  it('converge-timeout with -c: abra does not wait, so it does not fail', async () => {
    const r = await driver.rollbackApp(WIKI_ALPHA, undefined, { noConvergeChecks: true });
    expect(r.stderr).toContain('skipping converge checks');
    expect(swarmApp(WIKI_ALPHA)).toMatchObject({ version: '1.1.0+1.42.1', healthy: false });
    setCoopCloudFault(root, WIKI_ALPHA, 'converge-timeout', false);
  });

  it('health-fails: traefik answers 502 while the swarm is fine', async () => {
    setCoopCloudFault(root, '*', 'health-fails', true);
    expect((await health(AUTH)).status).toBe(502);
    clearCoopCloudFaults(root);
    expect((await health(AUTH)).status).toBe(200);
  });

  it('slow: every command for the app takes 2 s longer', async () => {
    setCoopCloudFault(root, WIKI, 'slow', true);
    const t = Date.now();
    await driver.listSnapshots(WIKI).catch(() => undefined);
    expect(Date.now() - t).toBeGreaterThanOrEqual(2000);
    setCoopCloudFault(root, WIKI, 'slow', false);
  });
});

describe('backups', () => {
  const BOT = 'backups.test';
  const direct = (...args: string[]) => driver.cli.run(args, { mutates: false });

  it('without backup-bot-two on the server (as hypha), backup and restore commands fail, changing nothing', async () => {
    for (const args of [
      ['app', 'backup', 'create', AUTH, '-n'],
      ['app', 'backup', 'snapshots', AUTH, '-n'],
      ['app', 'restore', AUTH, '-n'],
    ]) {
      const err = await failure(driver.cli.run(args, { mutates: true, terminal: true, input: 'YES\n' }));
      expect(err.fatal).toBe('no backupbot discovered, is it deployed?');
    }
    expect(swarmApp(AUTH).snapshots).toEqual([]);
  });

  it('with backup-bot-two, they need a terminal: run bare they fail as docker exec -t does', async () => {
    deployBackupBot(root, BOT);
    const err = await failure(direct('app', 'backup', 'snapshots', WIKI, '-n'));
    expect(err.fatal).toBe('the input device is not a TTY');
    expect((await failure(direct('app', 'backup', 'create', WIKI, '-n'))).fatal).toBe('the input device is not a TTY');
    expect(swarmApp(WIKI).snapshots).toEqual([]);
  });

  it("backs up on a terminal: restic's summary gives the snapshot; snapshots and ls print no sizes", async () => {
    const b = await driver.backupApp(AUTH);
    expect(b.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    // the sandbox here gives the apps no database: the pre-hook dumps nothing
    expect(b.addedBytes).toBe(0);
    const snaps = await driver.listSnapshots(AUTH);
    expect(snaps).toEqual([{ id: b.snapshotId!.slice(0, 8), time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
    const files = await driver.snapshotFiles(AUTH, b.snapshotId!);
    expect(files.map((f) => f.path)).toContain('/var/lib/docker/volumes/auth_test_mariadb/_data/dump.sql');
    const into = mkdtempSync(path.join(tmp, 'download-'));
    await driver.downloadSnapshotPath(AUTH, snaps[0].id, files.at(-1)!.path, into);
    expect(readdirSync(into)).toEqual([expect.stringMatching(/^auth_test_\d+\.tar\.gz$/)]);
  });

  it('restores only once told YES on its terminal; coopctl types it', async () => {
    const [snap] = await driver.listSnapshots(AUTH);
    const refused = await failure(driver.cli.run(['app', 'restore', AUTH, '-n'], { mutates: true, terminal: true }));
    expect(refused.fatal).toBe('restore aborted');
    expect(refused.output.stdout).toContain('Type YES (uppercase) to continue:');
    expect(swarmApp(AUTH).lastRestore).toBeUndefined();
    await driver.restoreApp(AUTH, snap.id);
    expect(swarmApp(AUTH).lastRestore).toMatchObject({ snapshot: expect.stringMatching(`^${snap.id}`) });
    expect((await failure(driver.restoreApp(AUTH, 'deadbeef'))).fatal).toContain('snapshot deadbeef not found');
  });

  it('finds no backup configs in a recipe version without labels', async () => {
    const err = await failure(driver.backupApp('old-wiki.test'));
    expect(err.kind).toBe('no-backup-config');
    expect(err.fatal).toContain('no backup configs discovered');
  });

  it('backup-container-not-running: the pre-hook fails, no snapshot is added', async () => {
    setCoopCloudFault(root, WIKI, 'backup-container-not-running', true);
    const err = await failure(driver.backupApp(WIKI));
    expect(err.fatal).toContain('is not running');
    expect(swarmApp(WIKI).snapshots).toEqual([]);
    setCoopCloudFault(root, WIKI, 'backup-container-not-running', false);
    deployBackupBot(root, BOT, false);
  });
});

describe('abra rules around it', () => {
  it('refuses to prompt without -n when stdin is not a terminal', async () => {
    const err = await failure(driver.cli.run(['app', 'upgrade', WIKI], { mutates: true }));
    expect(err.kind).toBe('refused-prompt');
    expect(swarmApp(WIKI).version).toBe('1.1.0+1.42.1');
  });

  it('fails like abra when the server does not answer SSH', async () => {
    const closed = await freePort();
    const silentHttp = await listen((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const doubleFile = path.join(abraDir, 'double.json');
    const cfg = JSON.parse(readFileSync(doubleFile, 'utf8'));
    for (const [name, port] of [
      ['gone.test', closed],
      ['web.test', silentHttp],
    ] as const) {
      cfg.servers[name] = { swarm: path.join(tmp, `${name}.json`), ssh: { host: '127.0.0.1', port } };
      mkdirSync(path.join(abraDir, 'servers', name), { recursive: true });
      writeFileSync(path.join(abraDir, 'servers', name, `app.${name}.env`), 'TYPE=keycloak\n');
    }
    writeFileSync(doubleFile, JSON.stringify(cfg));
    const gone = await failure(driver.listApps('gone.test'));
    expect(gone.kind).toBe('unreachable');
    expect(gone.code).toBe('remote');
    expect(gone.fatal).toMatch(/unable to connect/);
    expect((await failure(driver.upgradeApp('app.web.test'))).fatal).toMatch(/unable to connect.*not an SSH server/);
    expect(existsSync(path.join(tmp, 'gone.test.json'))).toBe(false);
  });

  it('app check compares the env file with the recipe .env.sample', async () => {
    await driver.cli.run(['app', 'check', WIKI], { mutates: false });
    writeFileSync(
      path.join(abraDir, 'servers', SERVER, 'bare.test.env'),
      'TYPE=mediawiki:1.1.0+1.42.1\nDOMAIN=bare.test\n',
    );
    const err = await failure(driver.cli.run(['app', 'check', 'bare.test'], { mutates: false }));
    expect(err.fatal).toContain('ENABLE_BACKUPS');
  });

  it('recipe versions -m lists each release with its images', async () => {
    const { stdout } = await driver.cli.run(['recipe', 'versions', 'bonfire', '-m', '-n'], { mutates: false });
    expect(JSON.parse(stdout)).toContainEqual({
      version: B3,
      service: 'app',
      image: 'bonfirenetworks/bonfire',
      tag: '1.0.6-social-amd64',
    });
  });

  it('recipe fetch clones from the catalogue, then fetches new tags', async () => {
    const upstream = path.join(tmp, 'catalogue', 'wikinext');
    await createRecipeRepo(upstream, fixtureRecipe('mediawiki'));
    const doubleFile = path.join(abraDir, 'double.json');
    writeFileSync(
      doubleFile,
      JSON.stringify({ ...JSON.parse(readFileSync(doubleFile, 'utf8')), recipeSources: { wikinext: upstream } }),
    );
    await driver.fetchRecipe('wikinext');
    expect((await driver.recipeVersions('wikinext')).map((r) => r.version)).toEqual([
      '1.0.0+1.41.1',
      '1.1.0+1.42.1',
      '1.1.1+1.42.3',
    ]);
    await git(
      upstream,
      ['tag', '-a', '1.2.0+1.43.0', '-m', 'chore: publish 1.2.0+1.43.0 release'],
      '2025-01-01T00:00:00Z',
    );
    await driver.fetchRecipe('wikinext');
    expect((await driver.recipeVersions('wikinext')).at(-1)?.version).toBe('1.2.0+1.43.0');
    expect((await failure(driver.fetchRecipe('nextcloud'))).fatal).toContain('not in the catalogue');
  });

  it('names an app abra does not know', async () => {
    expect((await failure(driver.upgradeApp('nope.test'))).kind).toBe('not-found');
  });
});

describe("the double's own version order", () => {
  const OLD = 'oldwiki.test';
  const env = path.join(abraDir, 'servers', SERVER, `${OLD}.env`);

  afterAll(() => rmSync(env, { force: true }));

  it('old `<upstream>_<n>` tags first, then releases by the semver before `+` (numbers by value, a pre-release before its release)', async () => {
    const compose = 'services:\n  app:\n    image: mediawiki:1\n';
    await createRecipeRepo(path.join(abraDir, 'recipes', 'oldwiki'), {
      name: 'oldwiki',
      envFile: () => '',
      releases: ['0.10.0+1.39.0', '1.35.0_1', '0.2.0+1.37.0', '1.35.0_2', '0.2.0-rc.1+1.37.0', '0.1.0+1.36.0'].map(
        (tag, i) => ({
          tag,
          date: `2021-0${i + 1}-01T00:00:00Z`,
          files: { 'compose.yml': compose, [`release/${tag}`]: `notes of ${tag}\n` },
        }),
      ),
    });
    writeFileSync(env, 'TYPE=oldwiki:1.35.0_1\nDOMAIN=oldwiki.test\n');
    updateSwarm(swarmPath(root), (s) => {
      s.apps[OLD] = {
        stack: 'oldwiki_test',
        recipe: 'oldwiki',
        version: '1.35.0_1',
        chaos: false,
        status: 'deployed',
        healthy: true,
        snapshots: [],
      };
    });
    const ls = async () => {
      const doc = JSON.parse(
        (await driver.cli.run(['app', 'ls', '-S', '-m', '-s', SERVER, '-n'], { mutates: false })).stdout,
      ) as Record<string, { apps: Array<{ domain: string; upgrade: string }> }>;
      return doc[SERVER].apps.find((a) => a.domain === OLD)!.upgrade.split('\n');
    };
    expect(await ls()).toEqual(['1.35.0_2', '0.1.0+1.36.0', '0.2.0-rc.1+1.37.0', '0.2.0+1.37.0', '0.10.0+1.39.0']);
    expect(
      (await failure(driver.cli.run(['app', 'upgrade', OLD, '1.35.0_1', '-n'], { mutates: true }))).fatal,
    ).toContain('not an upgrade');
    const up = await driver.cli.run(['app', 'upgrade', OLD, '0.2.0+1.37.0', '-n', '-c'], { mutates: true });
    expect(up.stdout).toMatch(
      /notes of 1\.35\.0_2[\s\S]*notes of 0\.1\.0\+1\.36\.0[\s\S]*notes of 0\.2\.0-rc\.1\+1\.37\.0[\s\S]*notes of 0\.2\.0\+1\.37\.0/,
    );
    expect(await ls()).toEqual(['0.10.0+1.39.0']);
    await driver.cli.run(['app', 'upgrade', OLD, '-n', '-c'], { mutates: true });
    expect(swarmApp(OLD).version).toBe('0.10.0+1.39.0');
    expect(await ls()).toEqual(['latest']);
    await driver.cli.run(['app', 'rollback', OLD, '-n', '-c'], { mutates: true });
    expect(swarmApp(OLD).version).toBe('0.2.0+1.37.0');
  });
});
