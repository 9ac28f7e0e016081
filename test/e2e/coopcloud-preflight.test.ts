import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes, sizeFlag } from '../../src/kernel/validate.js';
import { volumeMountpoint } from '../doubles/dockerVolumes.js';
import { json } from '../helpers/cli.js';
import { appEnvFile, configVariant, startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { deployBackupBot, serversUpstream } from '../world/coopcloud/server.js';
import { sandboxLayout } from '../world/layout.js';

interface PreflightDoc {
  ok: boolean;
  checks: Array<{ id: string; status: string; message: string; fix: string | null }>;
}
interface StatusDoc {
  services: Array<{ service: string; version: string | null }>;
}

const B3 = '2.0.1+1.0.6-social-amd64';
const MEILI_NOTE =
  'Mailisearch search backend was removed. If you want to use a search backend switch to sonic. ' +
  'See readme on how to use it.';

let sb: TestSandbox;
let bonfireEnv: string;

beforeAll(async () => {
  sb = await startSandbox();
  bonfireEnv = appEnvFile(sb.dir, 'bonfire.sandbox');
}, 600_000);

afterAll(async () => {
  await sb?.down();
});

const check = (doc: PreflightDoc, id: string) => doc.checks.find((c) => c.id === id)!;
const preflight = async (...args: string[]) => {
  const r = await sb.run(['--json', 'preflight', 'bonfire', '--env', 'prod', ...args]);
  return { code: r.code, doc: json<PreflightDoc>(r) };
};
const bonfireVersion = async () =>
  json<StatusDoc>(await sb.run(['--json', 'status', 'bonfire', '--env', 'prod'])).services[0].version;

/** Edits bonfire's env file for one test; the original comes back after it. */
async function withEnv(edit: (text: string) => string, body: (edited: string) => Promise<void>): Promise<void> {
  const before = readFileSync(bonfireEnv, 'utf8');
  const edited = edit(before);
  expect(edited).not.toBe(before);
  writeFileSync(bonfireEnv, edited);
  try {
    await body(edited);
  } finally {
    writeFileSync(bonfireEnv, before);
  }
}

describe('preflight of an abra app: its env file and its SSO', () => {
  it('bonfire passes, the sso check listed (its env enables the OIDC overlay for the realm of auth)', async () => {
    const { code, doc } = await preflight();
    expect(code).toBe(0);
    expect(doc.checks.map((c) => `${c.id}:${c.status}`)).toEqual(
      expect.arrayContaining(['env-file:pass', 'compose-overlays:pass', 'sso:pass']),
    );
    expect(check(doc, 'sso').message).toBe(
      'bonfire.sandbox logs in through realm social-coop of auth.sandbox: its discovery document answers',
    );
    // auth and the wikis have no sso: the check is not reported for them
    const auth = json<PreflightDoc>(await sb.run(['--json', 'preflight', 'auth', '--env', 'prod']));
    expect(auth.checks.map((c) => c.id)).not.toContain('sso');
    expect(check(auth, 'env-file').status).toBe('pass');
  });

  it("an env file without a key of the target's .env.sample fails preflight naming it, exit 3, nothing changed", async () => {
    const version = await bonfireVersion();
    await withEnv(
      (t) => t.replace(/^UPLOAD_LIMIT=.*\n/m, ''),
      async (edited) => {
        const { code, doc } = await preflight('--to', B3);
        expect(code).toBe(3);
        expect(doc.ok).toBe(false);
        expect(check(doc, 'env-file')).toMatchObject({
          status: 'fail',
          message: `${bonfireEnv} lacks 1 key of bonfire ${B3}'s .env.sample: UPLOAD_LIMIT`,
          fix: expect.stringContaining(`show ${B3}:.env.sample`),
        });
        expect(readFileSync(bonfireEnv, 'utf8')).toBe(edited);
      },
    );
    expect(await bonfireVersion()).toBe(version);
    const lock = json<{ held: boolean }>(await sb.run(['--json', 'lock', 'status', 'bonfire', '--env', 'prod']));
    expect(lock.held).toBe(false);
  });

  it('an env still enabling compose.meilisearch.yml: preflight --to 2.0.1 warns with 2.0.0’s note', async () => {
    await withEnv(
      (t) => t.replace(/^#(COMPOSE_FILE="\$COMPOSE_FILE:compose\.meilisearch\.yml")$/m, '$1'),
      async () => {
        const { code, doc } = await preflight('--to', B3);
        expect(code).toBe(0);
        expect(check(doc, 'compose-overlays')).toMatchObject({
          status: 'warn',
          message:
            `the env enables compose.meilisearch.yml (COMPOSE_FILE in ${bonfireEnv}), ` +
            `which 2.0.0+1.0.5-social-amd64 removed: ${MEILI_NOTE}`,
          fix: expect.stringMatching(/^remove compose\.meilisearch\.yml from COMPOSE_FILE in .* \(line \d+\)/),
        });
        const text = await sb.run(['preflight', 'bonfire', '--env', 'prod', '--to', B3]);
        expect(text.stdout).toContain(`which 2.0.0+1.0.5-social-amd64 removed: ${MEILI_NOTE}`);
      },
    );
  });

  it("servers-repo: the operators' shared repository; uncommitted changes and another operator's pin warn", async () => {
    const servers = path.dirname(bonfireEnv);
    expect(check((await preflight()).doc, 'servers-repo')).toMatchObject({
      status: 'pass',
      message: `servers/${path.basename(servers)} is committed and up to date with origin/main`,
    });
    await withEnv(
      (t) => `${t}\nTIMEOUT=9\n`,
      async () => {
        const { code, doc } = await preflight();
        expect(code).toBe(0);
        expect(check(doc, 'servers-repo').status).toBe('warn');
        expect(check(doc, 'servers-repo').message).toContain('1 uncommitted change(s) (bonfire.sandbox.env)');
      },
    );
    // another operator pins wiki-alpha and pushes: this checkout is behind until it pulls
    const other = mkdtempSync(path.join(os.tmpdir(), 'coopctl-operator-'));
    const git = (cwd: string, ...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=Bo', '-c', 'user.email=bo@example.org', ...args], {
        cwd,
        encoding: 'utf8',
      });
    try {
      git(other, 'clone', '-q', serversUpstream(sandboxLayout(sb.dir).abraDir, path.basename(servers)), 'servers');
      const env = path.join(other, 'servers', 'wiki-alpha.sandbox.env');
      writeFileSync(env, readFileSync(env, 'utf8').replace(/^TYPE=.*$/m, 'TYPE=mediawiki:1.1.1+1.42.3'));
      git(path.join(other, 'servers'), 'commit', '-q', '-am', 'wiki-alpha: 1.1.1+1.42.3');
      git(path.join(other, 'servers'), 'push', '-q');
      const { code, doc } = await preflight();
      expect(code).toBe(0);
      expect(check(doc, 'servers-repo')).toMatchObject({
        status: 'warn',
        message: expect.stringContaining("1 commit(s) behind origin/main: another operator's pin is not pulled"),
        fix: expect.stringContaining('git pull'),
      });
    } finally {
      execFileSync('git', ['-C', servers, 'pull', '-q', '--ff-only']);
      rmSync(other, { recursive: true, force: true });
    }
    expect(check((await preflight()).doc, 'servers-repo').status).toBe('pass');
  });

  it('OPENID_1_CLIENT_ID removed from the env: the sso check fails naming it', async () => {
    await withEnv(
      (t) => t.replace(/^OPENID_1_CLIENT_ID=.*\n/m, ''),
      async () => {
        const { code, doc } = await preflight();
        expect(code).toBe(3);
        expect(check(doc, 'sso')).toMatchObject({
          status: 'fail',
          message: `${bonfireEnv} does not set OPENID_1_CLIENT_ID`,
        });
        expect(check(doc, 'env-file').status).toBe('pass');
      },
    );
  });

  it('an sso provider that is no service of the config: exit 2 naming file:line, before anything runs', async () => {
    const text = readFileSync(sb.config, 'utf8');
    expect(text).toMatch(/^ {6}provider: auth$/m);
    const bad = path.join(sb.dir, 'bad-sso.yaml');
    writeFileSync(bad, text.replace(/^( {6}provider:) auth$/m, '$1 keycloak'));
    const line = text.split('\n').indexOf('      provider: auth') + 1;
    const r = await sb.run(['-c', bad, 'preflight', 'bonfire', '--env', 'prod']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `bad-sso.yaml:${line} services.bonfire.sso.provider: unknown SSO provider service "keycloak"`,
    );
  });

  it('sso-broken (the realm renamed behind its old URL): the sso check fails naming the issuer mismatch', async () => {
    expect((await sb.fault('auth', 'sso-broken')).code).toBe(0);
    try {
      const { code, doc } = await preflight();
      expect(code).toBe(3);
      expect(check(doc, 'sso')).toMatchObject({
        status: 'fail',
        message:
          'issuer mismatch: the discovery document of realm social-coop names issuer ' +
          'https://auth.sandbox/realms/socialcoop, not https://auth.sandbox/realms/social-coop',
      });
    } finally {
      await sb.fault('--clear');
    }
    expect((await preflight()).code).toBe(0);
  });
});

describe("the room a change needs counts the app's volumes (Bonfire's uploads)", () => {
  it('free space enough for the database but not with upload-data: preflight and upgrade stop naming it', async () => {
    // the world's uploads on hypha (test/world/coopcloud/volumes.ts), as du counts them there
    const mountpoint = volumeMountpoint(sandboxLayout(sb.dir).host('hypha'), 'bonfire_sandbox_upload-data');
    const volumes = Number(execFileSync('du', ['-sb', mountpoint], { encoding: 'utf8' }).split('\t')[0]);
    expect(volumes).toBeGreaterThan(4 * 1024 * 1024);
    const { code, doc } = await preflight();
    expect(code).toBe(0);
    const disk = check(doc, 'disk').message;
    const measured = /^database (.+?)(, volumes .*)?; free: \S+ (.+?), \S+ (.+)$/.exec(disk);
    expect(measured, disk).not.toBeNull();
    const [db, data, tmp] = [1, 3, 4].map((i) => sizeFlag(measured![i], 'message'));

    // a headroom × the database alone below the free space, × (database + volumes) above it: by half the volumes
    const free = Math.min(data, tmp);
    const headroom = free / (db + volumes / 2);
    const variant = (name: string, volumes: boolean) =>
      configVariant(sb.dir, name, (d) => {
        d.checks = { ...d.checks, diskHeadroom: headroom, minFreeBytes: 0 };
        if (!volumes) delete d.services.bonfire.volumes;
      });
    const run = async (file: string) => {
      const r = await sb.run(['-c', file, '--json', 'preflight', 'bonfire', '--env', 'prod']);
      return { code: r.code, doc: json<PreflightDoc>(r) };
    };
    // the same free space without volumes: (the gap of issue 19) is enough
    const without = await run(variant('room-without-volumes.yaml', false));
    expect(without.code).toBe(0);
    expect(check(without.doc, 'disk').status).toBe('warn');
    expect(check(without.doc, 'backup-host').status).toBe('pass');

    const config = variant('room-for-volumes.yaml', true);
    const short = await run(config);
    expect(short.code).toBe(3);
    expect(check(short.doc, 'disk')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(
        new RegExp(
          `^not enough free space on data dir .* and .*: need .* \\(${headroom}× the database and volumes upload-data, ` +
            'at least 0 B\\); database .*, volumes .* \\(upload-data .*\\); free: ',
        ),
      ),
    });
    expect(check(short.doc, 'backup-host')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/^not enough room for one more on-host backup copy: .*volumes .* \(upload-data /),
    });

    // the default config's preflight reports the volumes too
    expect(measured![2]).toBe(`, volumes ${formatBytes(volumes)} (upload-data ${formatBytes(volumes)})`);
    expect(check(doc, 'backup-host').message).toContain('a copy holds the database ');

    // upgrade stops at preflight: nothing backed up, nothing deployed, the lock free
    const backups = async () =>
      json<{ backups: Array<{ id: string }> }>(await sb.run(['--json', 'backup', 'list', 'bonfire', '--env', 'prod']))
        .backups;
    const [version, before] = [await bonfireVersion(), await backups()];
    const up = await sb.run(['-c', config, 'upgrade', 'bonfire', '--env', 'prod', '--to', B3, '--yes']);
    expect(up.code, up.stderr).toBe(3);
    expect(up.stdout + up.stderr).toContain('volumes upload-data');
    expect(await bonfireVersion()).toBe(version);
    expect(await backups()).toEqual(before);
    const lock = json<{ held: boolean }>(await sb.run(['--json', 'lock', 'status', 'bonfire', '--env', 'prod']));
    expect(lock.held).toBe(false);
  }, 240_000);
});

describe('app-backup: an app coopctl does not dump is backed up by abra, in backup-bot-two', () => {
  it('no database: and no backup-bot-two (as on hypha): fails before anything changes, naming the fix', async () => {
    const config = configVariant(sb.dir, 'no-database.yaml', (doc) => {
      delete doc.services.bonfire.database;
    });
    const run = async (...args: string[]) => {
      const r = await sb.run(['-c', config, '--json', 'preflight', 'bonfire', '--env', 'prod', ...args]);
      return { code: r.code, doc: json<PreflightDoc>(r) };
    };
    const version = await bonfireVersion();
    const { code, doc } = await run();
    expect(code).toBe(3);
    expect(check(doc, 'app-backup')).toEqual({
      id: 'app-backup',
      status: 'fail',
      message:
        'bonfire.sandbox cannot be backed up: coopctl.yaml names no database: for bonfire, and hypha runs no ' +
        'backup-bot-two, which abra app backup needs',
      fix:
        'add database: (and volumes:) for bonfire in coopctl.yaml, so coopctl backs it up itself; ' +
        'or deploy backup-bot-two on hypha',
    });
    const up = await sb.run(['-c', config, 'upgrade', 'bonfire', '--env', 'prod', '--to', B3, '--yes']);
    expect(up.code, up.stderr).toBe(3);
    expect(up.stderr).toContain('runs no backup-bot-two');
    expect(await bonfireVersion()).toBe(version);

    // where backup-bot-two runs and the recipe has backupbot labels, abra's backup is possible
    const hypha = sandboxLayout(sb.dir).host('hypha');
    deployBackupBot(hypha, 'backups.sandbox');
    try {
      const ok = await run();
      expect(check(ok.doc, 'app-backup')).toMatchObject({
        status: 'pass',
        message: expect.stringContaining('abra app backup through backup-bot-two (backupbot labels in bonfire)'),
      });
    } finally {
      deployBackupBot(hypha, 'backups.sandbox', false);
    }
  }, 240_000);
});
