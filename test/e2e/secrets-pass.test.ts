import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coopctl, json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { SandboxMastodon } from '../helpers/upgradeSandbox.js';

/**
 * Secrets as operators have them: the sandbox keeps its S3 keys and its age
 * identity in a real `pass` store (GnuPG, a throw-away key), and its
 * coopctl.yaml refers to them with {pass: ...} as production's does.
 */
let sb: TestSandbox;
let alpha: SandboxMastodon;

beforeAll(async () => {
  sb = await startSandbox();
  alpha = new SandboxMastodon(sb, 'alpha');
});

afterAll(async () => {
  await sb?.down();
});

function pass(args: string[], input?: string, env = sb.env): string {
  return execFileSync('pass', args, { env: { ...process.env, ...env }, input: input ?? '', encoding: 'utf8' });
}

/** A copy of the sandbox's coopctl.yaml in its dir (relative paths still hold), edited. */
function configWith(name: string, edit: (doc: ReturnType<typeof parseDocument>) => void): string {
  const doc = parseDocument(readFileSync(sb.config, 'utf8'));
  edit(doc);
  const file = path.join(sb.dir, name);
  writeFileSync(file, doc.toString());
  return file;
}

const lineOf = (file: string, text: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(text)) + 1;

describe('secrets from a real pass store', () => {
  it('the sandbox keeps them in pass, as operators do: an identity entry from pass insert -m, keys with metadata', () => {
    const cfg = readFileSync(sb.config, 'utf8');
    expect(cfg).toContain('pass: sandbox/s3/access-key-id');
    expect(cfg).toContain('pass: sandbox/backups/age-identity');
    expect(cfg).not.toMatch(/file: secrets\//);
    // no plain files of keys beside the store
    expect(readdirSync(path.join(sb.dir, 'secrets')).filter((f) => /s3|age|identity/.test(f))).toEqual([]);
    const identity = pass(['show', 'sandbox/backups/age-identity']).split('\n');
    expect(identity[0]).toMatch(/^# created: /);
    expect(identity[1]).toMatch(/^# public key: age1/);
    expect(identity[2]).toMatch(/^AGE-SECRET-KEY-1/);
    expect(pass(['show', 'sandbox/s3/access-key-id']).split('\n').filter(Boolean).length).toBeGreaterThan(1);
  });

  it('backup create → verify → restore --into scratch on the S3 store, every key from pass, none in the output', async () => {
    const created = await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'alpha', '--store', 's3']);
    expect(created.code, created.stderr).toBe(0);
    const m = json<{ id: string; encryption: { identityRef: string } }>(created);
    expect(m.encryption.identityRef).toBe('pass:sandbox/backups/age-identity');
    const verified = await sb.run(['--json', 'backup', 'verify', m.id, '--store', 's3']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(json(verified)).toMatchObject({ id: m.id, verified: true });
    const scratch = await sb.run(['--json', 'backup', 'restore', m.id, '--into', 'scratch', '--store', 's3', '-v']);
    expect(scratch.code, scratch.stderr).toBe(0);
    const key = pass(['show', 'sandbox/backups/age-identity']).split('\n')[2];
    for (const r of [created, verified, scratch]) expect(r.stdout + r.stderr).not.toContain(key);
  });

  it('a real restore reads each entry once, the identity in preflight before the lock', async () => {
    const created = await sb.run(['--json', 'backup', 'create', 'mastodon', '--env', 'alpha']);
    expect(created.code, created.stderr).toBe(0);
    const { id } = json<{ id: string }>(created);
    const r = await sb.run(['-v', 'backup', 'restore', id, '--into', 'alpha', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    const reads = lines.filter((l) => l.startsWith('$ pass show '));
    // the identity, and the token of the operators' Matrix room (notify.matrix): each once
    expect(reads.sort()).toEqual([
      '$ pass show sandbox/backups/age-identity',
      '$ pass show sandbox/matrix/access-token',
    ]);
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    expect(at('$ pass show')).toBeGreaterThan(at('→ Preflight checks'));
    expect(at('$ pass show')).toBeLessThan(at('→ Take the lock'));
    expect(r.stderr).toMatch(/✓ secrets: pass:sandbox\/backups\/age-identity resolved; the identity opens/);
  });

  it('a wrong identity refuses the upgrade in preflight (exit 3), before anything changes', async () => {
    pass(
      ['insert', '--multiline', '--force', 'sandbox/backups/other-identity'],
      execFileSync('age-keygen', { stdio: ['ignore', 'pipe', 'pipe'] }).toString(),
    );
    const wrong = configWith('wrong-identity.yaml', (d) =>
      d.setIn(['backup', 'encryption', 'identity', 'pass'], 'sandbox/backups/other-identity'),
    );
    const before = alpha.footprint();
    const r = await coopctl(['-c', wrong, 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--yes'], {
      env: sb.env,
    });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(
      /secrets: \S*wrong-identity\.yaml:\d+ backup\.encryption\.identity: pass:sandbox\/backups\/other-identity does not open what backup\.encryption\.recipients encrypt/,
    );
    expect(alpha.footprint()).toEqual(before);
    expect((await alpha.running()).version).toBe('4.4.7');
  });

  it('a missing pass entry fails preflight naming the file:line of the reference, and nothing changes', async () => {
    const missing = configWith('missing-entry.yaml', (d) => {
      d.setIn(['backup', 'store'], 's3');
      d.setIn(['backup', 'stores', 's3', 'accessKeyId', 'pass'], 'sandbox/s3/no-such-entry');
    });
    const line = lineOf(missing, 'accessKeyId:');
    const pf = await coopctl(['-c', missing, '--json', 'preflight', 'mastodon', '--env', 'alpha'], { env: sb.env });
    expect(pf.code).toBe(3);
    const check = json<{ checks: Array<{ id: string; status: string; message: string }> }>(pf).checks.find(
      (c) => c.id === 'secrets',
    );
    expect(check).toMatchObject({ status: 'fail' });
    expect(check!.message).toMatch(
      new RegExp(
        `missing-entry\\.yaml:${line} backup\\.stores\\.s3\\.accessKeyId: secret pass:sandbox/s3/no-such-entry ` +
          'is not in the password store',
      ),
    );
    const before = alpha.footprint();
    const up = await coopctl(['-c', missing, 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--yes'], {
      env: sb.env,
    });
    expect(up.code, up.stderr).toBe(3);
    expect(alpha.footprint()).toEqual(before);
  });

  it('gpg never prompts: a key locked by a passphrase is an error at once, with what to do', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'coopctl-gpg-'));
    const env = { GNUPGHOME: path.join(home, 'gnupg'), PASSWORD_STORE_DIR: path.join(home, 'store') };
    const gpg = (args: string[]) => execFileSync('gpg', args, { env: { ...process.env, ...env }, stdio: 'pipe' });
    try {
      mkdirSync(env.GNUPGHOME, { mode: 0o700 });
      const uid = 'locked <locked@coopctl.invalid>';
      gpg([
        '--batch',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        'hunter2',
        '--quick-gen-key',
        uid,
        'future-default',
      ]);
      pass(['init', uid], undefined, env);
      pass(['insert', '-m', 'sandbox/backups/age-identity'], pass(['show', 'sandbox/backups/age-identity']), env);
      // the passphrase is not cached anywhere: the next decryption would need it
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, ...env } });
      const started = Date.now();
      const r = await coopctl(['-c', sb.config, 'preflight', 'mastodon', '--env', 'alpha'], { env, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(3);
      expect(Date.now() - started).toBeLessThan(55_000);
      expect(r.stdout + r.stderr).toContain('secret pass:sandbox/backups/age-identity could not be decrypted');
      expect(r.stdout + r.stderr).toContain('unlock your key first');
    } finally {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, ...env } });
      rmSync(home, { recursive: true, force: true });
    }
  });
  it('a shell that exports neither variable finds the store coopctl.yaml names (secrets:); a set variable wins', async () => {
    const cfg = readFileSync(sb.config, 'utf8');
    expect(cfg).toContain('passwordStore: secrets/password-store');
    expect(cfg).toContain('gnupgHome: secrets/gnupg');
    // every key from pass: the S3 store's and the identity
    const s3 = configWith('store-s3.yaml', (d) => d.setIn(['backup', 'store'], 's3'));
    const unset = { GNUPGHOME: '', PASSWORD_STORE_DIR: '' };
    const secretsCheck = async (env: Record<string, string>) => {
      const pf = await coopctl(['-c', s3, '--json', 'preflight', 'mastodon', '--env', 'alpha'], { env });
      return json<{ checks: Array<{ id: string; status: string; message: string }> }>(pf).checks.find(
        (c) => c.id === 'secrets',
      );
    };
    expect(await secretsCheck(unset)).toMatchObject({ status: 'pass' });
    const created = await coopctl(['-c', s3, '--json', 'backup', 'create', 'mastodon', '--env', 'alpha'], {
      env: unset,
    });
    expect(created.code, created.stderr).toBe(0);
    expect(json<{ encryption: { identityRef: string } }>(created).encryption.identityRef).toBe(
      'pass:sandbox/backups/age-identity',
    );
    // the operator's own variable wins over the file: their store, which lacks the entries
    const theirs = mkdtempSync(path.join(os.tmpdir(), 'coopctl-store-'));
    try {
      const check = await secretsCheck({ ...unset, PASSWORD_STORE_DIR: theirs });
      expect(check?.status).toBe('fail');
      expect(check?.message).toContain(`is not in the password store (${theirs})`);
    } finally {
      rmSync(theirs, { recursive: true, force: true });
    }
  });
});
