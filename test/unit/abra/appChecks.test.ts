import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { abraDriver } from '../../../src/drivers/abra/driver.js';
import { ConfigError } from '../../../src/kernel/errors.js';
import { ExecaRunner } from '../../../src/kernel/process.js';
import { configSchema, REGISTRY } from '../../../src/operations/registry.js';
import { coopcloudAppProfile } from '../../../src/services/coopcloud/profile.js';
import type { CheckResult } from '../../../src/targets/check.js';
import type { Check, CheckContext, Target } from '../../../src/targets/target.js';
import { Workspace } from '../../../src/workspace/workspace.js';
import { keycloakAnswer, SANDBOX_REALM } from '../../doubles/keycloak.js';
import { enableOidc } from '../../world/coopcloud/oidc.js';
import { createRecipeRepo, createRecipeRepos, fixtureRecipe } from '../../world/coopcloud/recipes.js';

const B1 = '1.0.0+1.0.5-social-amd64';
const B2 = '2.0.0+1.0.5-social-amd64';
const B3 = '2.0.1+1.0.6-social-amd64';
const SERVER = 'hypha.test';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'coopctl-appchecks-'));
const abraDir = path.join(tmp, 'abra');
const envPath = (domain: string) => path.join(abraDir, 'servers', SERVER, `${domain}.env`);
const bonfireEnv = () =>
  enableOidc(fixtureRecipe('bonfire').envFile('bonfire.test', B1), { authDomain: 'auth.test', realm: SANDBOX_REALM });

/** The Keycloak stand-in's answers (test/doubles/keycloak.ts), on a loopback port. */
let keycloak: http.Server;
let keycloakUrl = '';
let ssoBroken = false;

function config(extra = ''): string {
  return `abra: { dir: abra }
services:
  bonfire:
    driver: abra
    recipe: bonfire
    sso: { provider: auth, realm: ${SANDBOX_REALM} }
    environments:
      prod: { inventory: inv.yml, host: hypha, server: ${SERVER}, domain: bonfire.test }
  demo:
    driver: abra
    recipe: demo
    environments:
      prod: { inventory: inv.yml, host: hypha, server: ${SERVER}, domain: demo.test }
  auth:
    driver: abra
    recipe: keycloak
    environments:
      prod:
        inventory: inv.yml
        host: hypha
        server: ${SERVER}
        domain: auth.test
        health: { url: "${keycloakUrl}", requestTimeout: 2s }
${extra}`;
}

/** A fresh run: a workspace reads an env file once. */
function workspace(text = config()): Workspace {
  const loaded = parseConfigText(text, path.join(tmp, 'coopctl.yaml'), configSchema());
  return new Workspace(loaded, new ExecaRunner(false), REGISTRY);
}

function target(ws: Workspace, service: string): Target {
  const svc = ws.service(service);
  return {
    service,
    env: 'prod',
    serviceConfig: svc,
    envConfig: svc.environments.prod,
    driver: abraDriver,
    profile: coopcloudAppProfile,
  } as unknown as Target;
}

function context(ws: Workspace, service: string, deployed: string, toVersion?: string): CheckContext {
  return {
    target: target(ws, service),
    context: ws,
    runner: ws.runner,
    facts: {
      runningVersion: async () => deployed,
      dbSizeBytes: async () => 0,
      volumeBytes: async () => [],
      postgresVersion: async () => '15.8',
    },
    toVersion,
    allowPrerelease: false,
  };
}

const check = (id: string): Check => [...abraDriver.checks, ...coopcloudAppProfile.checks].find((c) => c.id === id)!;

async function run(id: string, service: string, deployed: string, toVersion?: string): Promise<CheckResult> {
  const ws = workspace();
  return { id, ...(await check(id).run(context(ws, service, deployed, toVersion))) };
}

function editEnv(domain: string, edit: (text: string) => string): () => void {
  const before = readFileSync(envPath(domain), 'utf8');
  writeFileSync(envPath(domain), edit(before));
  return () => writeFileSync(envPath(domain), before);
}

beforeAll(async () => {
  keycloak = http.createServer((req, res) => {
    const a = keycloakAnswer('auth.test', req.url ?? '/', ssoBroken) ?? { status: 200, body: '{}' };
    res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
  });
  await new Promise<void>((resolve) => keycloak.listen(0, '127.0.0.1', resolve));
  keycloakUrl = `http://127.0.0.1:${(keycloak.address() as AddressInfo).port}`;
  await createRecipeRepos(path.join(abraDir, 'recipes'));
  // a recipe whose 2.0.0 adds a key to its sample and drops an overlay, with a note saying so
  await createRecipeRepo(path.join(abraDir, 'recipes', 'demo'), {
    name: 'demo',
    envFile: () => '',
    releases: [
      {
        tag: '1.0.0+1',
        date: '2025-01-01T00:00:00Z',
        files: {
          '.env.sample':
            'TYPE=demo\nDOMAIN=demo.example.com\nCOMPOSE_FILE="compose.yml"\n#COMPOSE_FILE="$COMPOSE_FILE:compose.extra.yml"\n',
          'compose.yml': 'services: {app: {}}\n',
          'compose.extra.yml': 'services: {extra: {}}\n',
        },
      },
      {
        tag: '1.1.0+1',
        date: '2025-02-01T00:00:00Z',
        files: {
          '.env.sample': 'TYPE=demo\nDOMAIN=demo.example.com\nCOMPOSE_FILE="compose.yml"\n',
          'compose.yml': 'services: {app: {}}\n',
          'release/1.1.0+1': '\nThe extra overlay is gone; use compose.other.yml.\nMore text.\n',
        },
      },
      {
        tag: '2.0.0+1',
        date: '2025-03-01T00:00:00Z',
        files: {
          '.env.sample': 'TYPE=demo\nDOMAIN=demo.example.com\nCOMPOSE_FILE="compose.yml"\nNEW_KEY=1\n',
          'compose.yml': 'services: {app: {}}\n',
          'release/1.1.0+1': '\nThe extra overlay is gone; use compose.other.yml.\nMore text.\n',
        },
      },
    ],
  });
  mkdirSync(path.dirname(envPath('x')), { recursive: true });
  writeFileSync(envPath('bonfire.test'), bonfireEnv());
  writeFileSync(
    envPath('demo.test'),
    'TYPE=demo:1.0.0+1\nDOMAIN=demo.test\nCOMPOSE_FILE="compose.yml:compose.extra.yml"\nSMTP_PASSWORD=hunter2-secret\n',
  );
});

afterAll(async () => {
  await new Promise((resolve) => keycloak?.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

describe('env-file', () => {
  it('passes when the env has every key of the deployed version’s sample (TYPE pinned is normal)', async () => {
    const r = await run('env-file', 'bonfire', B1);
    expect(r).toMatchObject({ status: 'pass', message: expect.stringContaining(`bonfire ${B1}'s .env.sample`) });
  });

  it('fails naming the missing keys, the env file and the target version, never a value', async () => {
    const deployed = await run('env-file', 'demo', '1.0.0+1');
    expect(deployed.status).toBe('pass');
    const r = await run('env-file', 'demo', '1.0.0+1', '2.0.0+1');
    expect(r.status).toBe('fail');
    expect(r.message).toBe(`${envPath('demo.test')} lacks 1 key of demo 2.0.0+1's .env.sample: NEW_KEY`);
    expect(r.fix).toContain(`git -C ${path.join(abraDir, 'recipes', 'demo')} show 2.0.0+1:.env.sample`);
    expect(`${r.message} ${r.fix}`).not.toContain('hunter2');
  });

  it('fails on bonfire without UPLOAD_LIMIT', async () => {
    const restore = editEnv('bonfire.test', (t) => t.replace(/^UPLOAD_LIMIT=.*\n/m, ''));
    try {
      const r = await run('env-file', 'bonfire', B1, B3);
      expect(r.status).toBe('fail');
      expect(r.message).toContain(`of bonfire ${B3}'s .env.sample: UPLOAD_LIMIT`);
    } finally {
      restore();
    }
  });

  it('a missing env file fails naming its path; a line that is no setting fails naming file:line', async () => {
    const ws = workspace(config().replace('domain: demo.test', 'domain: gone.test'));
    const r = await check('env-file').run(context(ws, 'demo', '1.0.0+1'));
    expect(r).toMatchObject({
      status: 'fail',
      message: `gone.test has no env file: ${envPath('gone.test')} does not exist`,
    });
    const restore = editEnv('demo.test', (t) => `${t}oops not a setting\n`);
    try {
      const bad = await run('env-file', 'demo', '1.0.0+1');
      expect(bad).toMatchObject({
        status: 'fail',
        message: expect.stringContaining(`${envPath('demo.test')}:5: not a KEY=value line`),
      });
    } finally {
      restore();
    }
  });
});

describe('overlays a release removed', () => {
  it('preflight --to: a warning naming the overlay, the env file, the release that removed it and its note', async () => {
    const restore = editEnv('bonfire.test', (t) =>
      t.replace(
        '#COMPOSE_FILE="$COMPOSE_FILE:compose.meilisearch.yml"',
        'COMPOSE_FILE="$COMPOSE_FILE:compose.meilisearch.yml"',
      ),
    );
    try {
      for (const to of [B2, B3]) {
        const r = await run('compose-overlays', 'bonfire', B1, to);
        expect(r.status).toBe('warn');
        expect(r.message).toBe(
          `the env enables compose.meilisearch.yml (COMPOSE_FILE in ${envPath('bonfire.test')}), which ${B2} removed: ` +
            'Mailisearch search backend was removed. If you want to use a search backend switch to sonic. ' +
            'See readme on how to use it.',
        );
        expect(r.fix).toMatch(
          /^remove compose\.meilisearch\.yml from COMPOSE_FILE in .*bonfire\.test\.env \(line \d+\)/,
        );
      }
      // already on 2.0.0, a further upgrade is not what removed it
      const after = await run('compose-overlays', 'bonfire', B2, B3);
      expect(after).toMatchObject({
        status: 'warn',
        message: expect.stringContaining(`which bonfire ${B3} does not have`),
      });
    } finally {
      restore();
    }
  });

  it('the first release in (current, target] that lacks the file is named, with its first note line', async () => {
    const r = await run('compose-overlays', 'demo', '1.0.0+1', '2.0.0+1');
    expect(r).toMatchObject({
      status: 'warn',
      message: expect.stringMatching(/which 1\.1\.0\+1 removed: The extra overlay is gone; use compose\.other\.yml\.$/),
    });
  });

  it('passes when every file exists at the target, and without --to', async () => {
    expect((await run('compose-overlays', 'bonfire', B1, B3)).status).toBe('pass');
    expect(await run('compose-overlays', 'demo', '1.0.0+1')).toMatchObject({
      status: 'pass',
      message: expect.stringContaining('no --to'),
    });
  });

  it("is a warning of the change review, shown in upgrade's plan", async () => {
    const ws = workspace();
    const t = target(ws, 'demo');
    const entry = (version: string, newer: boolean) => ({
      version,
      series: version[0],
      prerelease: false,
      security: false,
      current: !newer,
      newer,
    });
    const versions = [entry('2.0.0+1', true), entry('1.0.0+1', false)];
    const choice = { current: '1.0.0+1', catalog: { versions, warnings: [] }, suggestions: [] };
    const facts = context(ws, 'demo', '1.0.0+1').facts;
    const review = await coopcloudAppProfile.reviewChange(t, choice, '2.0.0+1', {
      allowPrerelease: false,
      facts,
      context: ws,
    });
    expect(review.findings.map((f) => `${f.id}:${f.level}`)).toEqual(['newer:ok', 'removed-overlay:warn']);
    expect(review.findings[1].message).toContain('compose.extra.yml');
  });
});

describe('sso', () => {
  it('passes: the OIDC overlay and settings, the realm of the provider, its discovery document answering', async () => {
    const r = await run('sso', 'bonfire', B1);
    expect(r).toEqual({
      id: 'sso',
      status: 'pass',
      message: `bonfire.test logs in through realm ${SANDBOX_REALM} of auth.test: its discovery document answers`,
    });
  });

  it('applies only to services with sso', () => {
    const ws = workspace();
    expect(check('sso').appliesTo?.(target(ws, 'demo'))).toBe(false);
    expect(check('sso').appliesTo?.(target(ws, 'bonfire'))).toBe(true);
  });

  it('fails naming a setting that is missing or empty, and the overlay not enabled', async () => {
    const restore = editEnv('bonfire.test', (t) =>
      t
        .replace(/^OPENID_1_CLIENT_ID=.*$/m, '')
        .replace(/^OPENID_1_SCOPE=.*$/m, 'OPENID_1_SCOPE=')
        .replace(/^COMPOSE_FILE="\$COMPOSE_FILE:compose.auth.openid.yml"$/m, ''),
    );
    try {
      const r = await run('sso', 'bonfire', B1);
      expect(r.status).toBe('fail');
      expect(r.message).toContain('does not enable compose.auth.openid.yml');
      expect(r.message).toContain('does not set OPENID_1_CLIENT_ID, OPENID_1_SCOPE');
    } finally {
      restore();
    }
  });

  it('fails when OPENID_1_DISCOVERY names another realm or host', async () => {
    const restore = editEnv('bonfire.test', (t) => t.replace('/realms/social-coop/', '/realms/master/'));
    try {
      const r = await run('sso', 'bonfire', B1);
      expect(r.status).toBe('fail');
      expect(r.message).toMatch(
        /OPENID_1_DISCOVERY in .*bonfire\.test\.env:\d+ is https:\/\/auth\.test\/realms\/master\//,
      );
      expect(r.fix).toBe(
        `set OPENID_1_DISCOVERY=https://auth.test/realms/${SANDBOX_REALM}/.well-known/openid-configuration`,
      );
    } finally {
      restore();
    }
  });

  it('fails on an issuer mismatch (the realm renamed), an unknown realm, a provider that does not answer', async () => {
    ssoBroken = true;
    try {
      const r = await run('sso', 'bonfire', B1);
      expect(r.status).toBe('fail');
      expect(r.message).toBe(
        `issuer mismatch: the discovery document of realm ${SANDBOX_REALM} names issuer ` +
          `https://auth.test/realms/socialcoop, not https://auth.test/realms/${SANDBOX_REALM}`,
      );
    } finally {
      ssoBroken = false;
    }
    const other = workspace(config().replace(`realm: ${SANDBOX_REALM}`, 'realm: coop'));
    const unknown = await check('sso').run(context(other, 'bonfire', B1));
    expect(unknown.status).toBe('fail');
    expect(unknown.message).toContain(
      '/realms/coop/.well-known/openid-configuration answered HTTP 404 (Realm does not exist)',
    );
    const down = workspace(config().replace(keycloakUrl, 'http://127.0.0.1:9'));
    const r = await check('sso').run(context(down, 'bonfire', B1));
    expect(r.message).toContain(`the discovery document of realm ${SANDBOX_REALM} does not answer`);
  });
});

describe('sso config', () => {
  const errorOf = (text: string): ConfigError => {
    try {
      workspace(text);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('expected a ConfigError');
  };

  it('an unknown provider service is a config error at its line, exit 2', () => {
    const e = errorOf(config().replace('provider: auth', 'provider: keycloak'));
    expect(e.message).toMatch(
      /(^|\/)coopctl\.yaml:6 services\.bonfire\.sso\.provider: unknown SSO provider service "keycloak" \(known: demo, auth\)$/,
    );
    expect(e.exitCode).toBe(2);
  });

  it('a provider without the app’s environment, or not an abra app, is a config error', () => {
    const extra = `      alpha: { inventory: inv.yml, host: hypha, server: ${SERVER}, domain: bonfire-alpha.test }\n`;
    const text = config().replace(`domain: bonfire.test }\n`, `domain: bonfire.test }\n${extra}`);
    expect(errorOf(text).message).toContain(
      'services.bonfire.sso.provider: bonfire/alpha logs in through auth/alpha, which has no environment alpha',
    );
    const mastodon = `  mastodon:
    driver: ansible
    playbook: p.yml
    versions: { type: git, url: https://github.com/mastodon/mastodon.git }
    environments:
      prod: { inventory: inv.yml, host: m, health: { url: "https://social.coop" } }
`;
    expect(errorOf(config(mastodon).replace('provider: auth', 'provider: mastodon')).message).toContain(
      'mastodon is not an abra app (driver: ansible)',
    );
  });
});
