import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type GlobalOptions } from '../../src/cli/context.js';
import { reportError } from '../../src/cli/errors.js';
import type { IO } from '../../src/kernel/io.js';
import { installComposeStandIn, seedMastodonLike, startPgHost, type PgHost } from '../helpers/pgHost.js';

/**
 * The backup commands (src/cli/commands/backup) run through a real command
 * context: coopctl.yaml, an Ansible inventory read by ansible-inventory, SSH
 * to a host whose PostgreSQL runs "in the db container" of the compose project.
 */
let h: PgHost;
let dir: string;
let config: string;
let counts: Record<string, number>;

const commands = {
  create: () => import('../../src/cli/commands/backup/create.js'),
  list: () => import('../../src/cli/commands/backup/list.js'),
  verify: () => import('../../src/cli/commands/backup/verify.js'),
  restore: () => import('../../src/cli/commands/backup/restore.js'),
  prune: () => import('../../src/cli/commands/backup/prune.js'),
};
type Command = keyof typeof commands;

async function coopctlBackup(
  cmd: Command,
  args: string[],
  opts: Record<string, unknown> = {},
  global: Partial<GlobalOptions> = {},
) {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (b: Buffer) => (stdout += b));
  err.on('data', (b: Buffer) => (stderr += b));
  const io: IO = {
    stdin: new PassThrough(),
    stdout: out,
    stderr: err,
    env: { ...process.env, CI: 'true', NO_COLOR: '1' },
  };
  const g: GlobalOptions = { config, json: true, yes: false, dryRun: false, verbose: false, ...global };
  const ctx = createContext(io, g, dir);
  let code = 0;
  try {
    const mod = (await commands[cmd]()) as { run: (c: typeof ctx, o: never, a: string[]) => Promise<unknown> };
    await mod.run(ctx, opts as never, args);
  } catch (e) {
    code = reportError(e, io, g.json);
  } finally {
    for (const fn of ctx.cleanup.reverse()) await fn();
  }
  // biome-ignore lint/suspicious/noExplicitAny: the tests read whatever fields a command's JSON has
  return { code, stdout, stderr, json: () => JSON.parse(stdout) as Record<string, any> };
}

beforeAll(async () => {
  h = await startPgHost('rhizome');
  counts = seedMastodonLike(h, 'mastodon_production', { mb: 2 });
  installComposeStandIn(h);
  dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
  const mastodonDir = path.join(dir, 'opt-social.coop');
  mkdirSync(mastodonDir);
  writeFileSync(path.join(mastodonDir, '.env.production'), 'SECRET_KEY_BASE=cafe\n');
  execFileSync('age-keygen', ['-o', path.join(dir, 'age-identity.txt')], { stdio: 'pipe' });
  const recipient = /public key: (age1\w+)/.exec(readFileSync(path.join(dir, 'age-identity.txt'), 'utf8'))![1];
  writeFileSync(
    path.join(dir, 'inventory.yml'),
    `all:\n  hosts:\n    rhizome:\n      ansible_host: 127.0.0.1\n      ansible_port: ${h.target.port}\n      ansible_user: ${h.target.user}\n      mastodon_dir: ${mastodonDir}\n`,
  );
  config = path.join(dir, 'coopctl.yaml');
  writeFileSync(
    config,
    `ssh: { knownHosts: ${h.knownHosts}, identityFile: ${h.identityFile}, agent: false }
backup:
  stores: { local: { type: local, dir: backups } }
  encryption: { recipients: [${recipient}], identity: { file: age-identity.txt } }
  retention: { keepLast: 1, keepDailyDays: 0 }
  restoreTest: { inventory: inventory.yml, host: rhizome }
services:
  mastodon:
    driver: ansible
    playbook: playbooks/mastodon.yml
    versions: { type: git, url: https://github.com/mastodon/mastodon.git }
    database: { name: mastodon_production, user: postgres, container: db, tables: [accounts, statuses, users] }
    environments:
      prod: { inventory: inventory.yml, host: rhizome, health: { url: "http://127.0.0.1:9/", requestTimeout: 1s } }
`,
  );
});

afterAll(async () => {
  await h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('coopctl backup create | list | verify | restore | prune', () => {
  let first: string;

  it('create --json prints the manifest as the only thing on stdout', async () => {
    const r = await coopctlBackup('create', ['mastodon'], { env: 'prod' }, { verbose: false });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const doc = r.json();
    expect(doc).toMatchObject({
      service: 'mastodon',
      env: 'prod',
      host: 'rhizome',
      verified: false,
      encryption: { algorithm: 'age', identityRef: 'file:age-identity.txt' },
    });
    expect(doc.database.rowCounts).toEqual(counts);
    expect(doc.files.map((f: { name: string }) => f.name)).toEqual(['db.dump.zst.age', 'env.production.age']);
    first = doc.id;
  });

  it('verify checks hash and pg_restore --list on the restore-test host; list shows it verified', async () => {
    const v = await coopctlBackup('verify', [first]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.json()).toMatchObject({ id: first, verified: true });
    const l = await coopctlBackup('list', [], {});
    expect(l.json().backups.map((b: { id: string; verified: boolean }) => [b.id, b.verified])).toEqual([[first, true]]);
    const text = await coopctlBackup('list', ['mastodon'], { env: 'prod' }, { json: false });
    expect(text.stdout).toMatch(
      new RegExp(
        // Every backup is taken on the host: its copy there is listed too.
        `^ID\\s+SERVICE\\s+ENV\\s+AGE\\s+SIZE\\s+VERSION\\s+VERIFIED\\s+ON HOST\\n${first}\\s+mastodon\\s+prod\\s+\\S+ ago\\s+` +
          `[\\d.]+ \\S+\\s+\\?\\s+yes \\(structure-checked\\)\\s+yes \\(rhizome\\)`,
      ),
    );
  });

  it('restore --into scratch is the restore test: ok, recorded, exit 0', async () => {
    const r = await coopctlBackup('restore', [first], { into: 'scratch' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json()).toMatchObject({
      ok: true,
      id: first,
      verified: true,
      restoreTest: { kind: 'restore-scratch', ok: true, details: { rowCounts: counts } },
    });
  });

  it('prune prints its plan, deletes only with --yes, never the newest verified', async () => {
    const second = (await coopctlBackup('create', ['mastodon'], { env: 'prod' })).json().id as string;
    const third = (await coopctlBackup('create', ['mastodon'], { env: 'prod' })).json().id as string;
    const plan = await coopctlBackup('prune', []);
    expect(plan.json()).toMatchObject({ delete: [{ id: second }], deleted: [] });
    expect(plan.json().keep.map((k: { id: string }) => k.id)).toEqual([third, first]);
    const done = await coopctlBackup('prune', [], {}, { yes: true });
    expect(done.json().deleted).toEqual([second]);
    const left = (await coopctlBackup('list', [])).json().backups.map((b: { id: string }) => b.id);
    expect(left).toEqual([third, first]);
  });

  it('failures come out as exit codes and JSON errors', async () => {
    const missing = await coopctlBackup('verify', ['20200101T000000Z-000000']);
    expect(missing.code).toBe(2);
    expect(missing.json().error.code).toBe('not-found');
    const bad = await coopctlBackup('restore', ['not-an-id'], { into: 'scratch' });
    expect(bad.code).toBe(2);
    const unknownEnv = await coopctlBackup('create', ['mastodon'], { env: 'staging' });
    expect(unknownEnv.code).toBe(2);
    expect(unknownEnv.json().error.message).toMatch(/staging/);
  });

  it('a backup that fails verification is exit 3 (refused, nothing changed), its code kept', async () => {
    const id = (await coopctlBackup('create', ['mastodon'], { env: 'prod' })).json().id as string;
    const object = execFileSync('find', [path.join(dir, 'backups'), '-path', `*${id}/db.dump.zst.age`], {
      encoding: 'utf8',
    }).trim();
    writeFileSync(object, Buffer.concat([readFileSync(object), Buffer.from('tampered')]));
    const v = await coopctlBackup('verify', [id], { quick: true });
    expect(v.code, v.stdout + v.stderr).toBe(3);
    expect(v.json().error.code).toBe('tampered');
  });
});
