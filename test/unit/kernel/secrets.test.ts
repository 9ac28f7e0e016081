import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { identitiesOpen, parseIdentities } from '../../../src/backup/crypto.js';
import { ConfigError } from '../../../src/kernel/errors.js';
import { CommandFailedError, type ProcessRunner, type RunOptions } from '../../../src/kernel/process.js';
import { redact } from '../../../src/kernel/redact.js';
import { resolveSecret } from '../../../src/kernel/secrets.js';

/** `pass show` as a fake: the entry's text, or pass's own failure. */
class FakePass implements ProcessRunner {
  readonly dryRun = false;
  readonly calls: Array<{ file: string; args: readonly string[]; opts: RunOptions }> = [];

  constructor(private readonly answer: { stdout: string } | { stderr: string; exitCode: number }) {}

  async run(file: string, args: readonly string[], opts: RunOptions) {
    this.calls.push({ file, args, opts });
    if ('stdout' in this.answer) return { stdout: this.answer.stdout, stderr: '', exitCode: 0, skipped: false };
    const result = { stdout: '', stderr: this.answer.stderr, exitCode: this.answer.exitCode, skipped: false };
    throw new CommandFailedError(`pass show ${args[1]}`, result);
  }
}

const deps = (runner: ProcessRunner, extra: { shape?: 'value' | 'document'; env?: NodeJS.ProcessEnv } = {}) => ({
  runner,
  env: extra.env ?? {},
  resolvePath: (p: string) => p,
  where: 'coopctl.yaml:12 backup.encryption.identity',
  shape: extra.shape,
});

describe('pass entries as operators store them', () => {
  it('an age identity stored with `pass insert -m` (comments first) is read whole and its key found', async () => {
    const key = await generateIdentity();
    const entry = `# created: 2026-11-29T10:00:00+01:00\n# public key: ${await identityToRecipient(key)}\n${key}\n`;
    const text = await resolveSecret(
      { pass: 'social.coop/backups/age-identity' },
      deps(new FakePass({ stdout: entry }), { shape: 'document' }),
    );
    expect(parseIdentities(text, 'coopctl.yaml:12')).toEqual([key]);
    expect(redact(`key: ${key}`)).toBe('key: [REDACTED]');
  });

  it("an S3 key's entry: the first line is the value, the lines after it metadata (pass convention)", async () => {
    const entry = 'AKIAEXAMPLEKEY42\nurl: https://ams3.digitaloceanspaces.com\nuser: twg\n';
    const value = await resolveSecret(
      { pass: 'social.coop/spaces/access-key-id' },
      deps(new FakePass({ stdout: entry })),
    );
    expect(value).toBe('AKIAEXAMPLEKEY42');
  });

  it("gpg runs in batch mode and may not start a pinentry (the operator's own gpg options kept)", async () => {
    const runner = new FakePass({ stdout: 'v4lue-secret\n' });
    await resolveSecret({ pass: 'x/y' }, deps(runner, { env: { PASSWORD_STORE_GPG_OPTS: '--trust-model always' } }));
    expect(runner.calls).toHaveLength(1);
    const { file, args, opts } = runner.calls[0];
    expect([file, ...args]).toEqual(['pass', 'show', 'x/y']);
    expect(opts.env?.PASSWORD_STORE_GPG_OPTS).toBe('--trust-model always --batch --pinentry-mode error');
    expect(opts.input).toBe('');
    expect(opts.mutates).toBe(false);
  });

  it('a missing entry and a key gpg cannot use are config errors naming where the reference is', async () => {
    const missing = new FakePass({ stderr: 'Error: x/nope is not in the password store.\n', exitCode: 1 });
    const err1 = await resolveSecret({ pass: 'x/nope' }, deps(missing, { env: { PASSWORD_STORE_DIR: '/s' } })).catch(
      (e: unknown) => e,
    );
    expect(err1).toBeInstanceOf(ConfigError);
    expect((err1 as Error).message).toBe(
      'coopctl.yaml:12 backup.encryption.identity: secret pass:x/nope is not in the password store (/s)',
    );
    const locked = new FakePass({ stderr: 'gpg: decryption failed: No secret key\n', exitCode: 2 });
    const err2 = (await resolveSecret({ pass: 'x/y' }, deps(locked)).catch((e: unknown) => e)) as ConfigError;
    expect(err2.message).toBe(
      'coopctl.yaml:12 backup.encryption.identity: secret pass:x/y could not be decrypted ' +
        '(gpg: decryption failed: No secret key)',
    );
    expect(err2.hints[0]).toContain('pass show x/y >/dev/null');
  });
});

describe('the identity check of preflight', () => {
  it('an identity opens what is encrypted to its recipient, and not what is encrypted to another', async () => {
    const mine = await generateIdentity();
    const other = await generateIdentity();
    const recipients = [await identityToRecipient(mine)];
    expect(await identitiesOpen(recipients, [mine])).toBe(true);
    expect(await identitiesOpen([await identityToRecipient(other), ...recipients], [mine])).toBe(true);
    expect(await identitiesOpen(recipients, [other])).toBe(false);
  });
});
