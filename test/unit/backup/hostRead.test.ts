import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { s3Command, type HostS3 } from '../../../src/backup/hostS3.js';
import { hostReadCommand, parseHostRead, progressBytes } from '../../../src/backup/hostRead.js';
import { ToolOutputError } from '../../../src/kernel/errors.js';
import type { ShellLine } from '../../../src/remote/quote.js';

const s3: HostS3 = {
  endpoint: 'http://10.0.0.1:9000',
  region: 'us-east-1',
  bucket: 'coopctl-backups',
  prefix: 'coopctl/',
  forcePathStyle: true,
  accessKeyId: 'AKIA$(touch /tmp/pwned)',
  secretAccessKey: "s3cr3t'; rm -rf / #",
};
const IDENTITY = 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ';
const KEY = 'mastodon/prod/20251126T035812Z-3f9a1c/db.dump.zst.age';

/** The words of a command line as the host's shell splits them (a real bash). */
function words(cmd: ShellLine): string[] {
  const line = `w() { printf '%s\\0' "$@"; }; w ${cmd.text}`;
  return execFileSync('bash', ['-c', line], { encoding: 'utf8' }).split('\0').slice(0, -1);
}

describe('rclone on a host (hostS3)', () => {
  it('keeps credentials and identity out of argv: they are the first lines of stdin', () => {
    const feed = { kind: 'feed', decrypt: 'age', into: ['pg_restore', '--list'] } as const;
    const { cmd, stdin } = hostReadCommand({ s3 }, KEY, feed, [IDENTITY]);
    const line = cmd.text;
    for (const secret of [s3.accessKeyId, s3.secretAccessKey, IDENTITY, 'AGE-SECRET-KEY']) {
      expect(line).not.toContain(secret);
    }
    expect(stdin).toBe(`${s3.accessKeyId}\n${s3.secretAccessKey}\n${IDENTITY}\n\n`);
    // Hashing needs no key: the identity is not even sent.
    expect(hostReadCommand({ s3 }, KEY, { kind: 'hash' }, [IDENTITY]).stdin).not.toContain(IDENTITY);
  });

  it('passes every value as a positional argument: the script text never changes', () => {
    const hostile = { ...s3, endpoint: 'http://x/$(id)`id`', region: "eu'; id; '" };
    const a = words(hostReadCommand({ s3 }, KEY, { kind: 'hash' }).cmd);
    const b = words(hostReadCommand({ s3: hostile }, KEY, { kind: 'hash' }).cmd);
    expect(b[2]).toBe(a[2]);
    expect(b.slice(0, 2)).toEqual(['bash', '-c']);
    expect(b.slice(3)).toEqual([
      'coopctl',
      hostile.endpoint,
      hostile.region,
      'true',
      `coopctl:coopctl-backups/coopctl/${KEY}`,
      'hash',
    ]);
  });

  it('hands hostile values to rclone literally and exports the credentials only inside bash', () => {
    const hostile = { ...s3, endpoint: 'http://x/$(touch /tmp/pwned)', region: '`id`' };
    const show =
      'printf "%s\\n" "$RCLONE_CONFIG_COOPCTL_ACCESS_KEY_ID" "$RCLONE_CONFIG_COOPCTL_SECRET_ACCESS_KEY" ' +
      '"$RCLONE_CONFIG_COOPCTL_ENDPOINT" "$RCLONE_CONFIG_COOPCTL_REGION" "$1" "${AWS_CA_BUNDLE-unset}"; ' +
      'IFS= read -r rest; printf "%s\\n" "$rest"';
    const { cmd, stdin } = s3Command(hostile, show, ['$(id) ; ls']);
    const r = spawnSync('bash', ['-c', cmd.text], {
      input: `${stdin}next line\n`,
      encoding: 'utf8',
      env: { ...process.env, AWS_CA_BUNDLE: '/etc/ssl/bundle.pem' },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual([
      s3.accessKeyId,
      s3.secretAccessKey,
      hostile.endpoint,
      '`id`',
      '$(id) ; ls',
      'unset',
      // What follows the credentials on stdin is left for the body (age's identity).
      'next line',
      '',
    ]);
  });

  it('refuses a value that would break the stdin protocol or the rclone path', () => {
    expect(() => s3Command({ ...s3, secretAccessKey: 'a\nb' }, 'true', [])).toThrow(/single line/);
    expect(() => s3Command({ ...s3, region: 'a\nb' }, 'true', [])).toThrow(/single line/);
    expect(() => hostReadCommand({ s3: { ...s3, bucket: 'x:y' } }, KEY, { kind: 'hash' })).toThrow(/bucket/);
    expect(() => hostReadCommand({ s3 }, '../../etc/passwd', { kind: 'hash' })).toThrow(/bad store key/);
    expect(() => hostReadCommand({ s3 }, KEY, { kind: 'feed', decrypt: 'age', into: ['cat'] }, [])).toThrow(/identity/);
  });

  it('reads the result line strictly; the output before it is the command’s', () => {
    const sha = 'a'.repeat(64);
    const plain = 'b'.repeat(64);
    const toc = ';\n; Archive created at\n3; 2615 2200 SCHEMA - public\n';
    expect(parseHostRead(`${toc}coopctl-read fetch=0 exit=0 sha256=${sha} size=42 plain=${plain}\n`, 'h')).toEqual({
      fetch: 0,
      exit: 0,
      sha256: sha,
      size: 42,
      plainSha256: plain,
      output: toc,
    });
    expect(parseHostRead(`coopctl-read fetch=0 exit=0 sha256=${sha} size=0 plain=\n`, 'h')?.plainSha256).toBe(
      undefined,
    );
    expect(parseHostRead('pg_restore: error\n', 'h')).toBe(undefined);
    // Nothing read (the object is missing): no hashes to give.
    expect(parseHostRead('coopctl-read fetch=4 exit=0 sha256= size= plain=\n', 'h')).toMatchObject({ fetch: 4 });
    for (const bad of [
      `coopctl-read fetch=0 exit=0 sha256=${sha} size=-1 plain=`,
      `coopctl-read fetch=0 exit=0 sha256=${sha.slice(1)} size=1 plain=`,
      'coopctl-read fetch=0 exit=0 sha256= size= plain=',
      `coopctl-read fetch=0 exit=0 sha256=${sha} size=1 plain= extra`,
    ]) {
      expect(() => parseHostRead(`${bad}\n`, 'h'), bad).toThrow(ToolOutputError);
    }
  });

  it('reads progress lines and nothing else', () => {
    expect(progressBytes('bytes 1048576\nrclone: NOTICE\nbytes 2097152\nbytes x\n')).toEqual([1048576, 2097152]);
  });
});
