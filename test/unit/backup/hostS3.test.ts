import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chunkSize, s3Object, uploadCommand, type HostS3 } from '../../../src/backup/hostS3.js';
import { parseSent } from '../../../src/backup/send.js';
import { toShell } from '../../../src/remote/quote.js';

const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const SECRET = 's3cr\'et$(touch /tmp/pwned)`id`"x';
const hostile: HostS3 = {
  endpoint: "http://store'; rm -rf / #:9000",
  region: 'us-east-1$(id)',
  bucket: 'coopctl-backups',
  prefix: 'coopctl/',
  forcePathStyle: true,
  accessKeyId: 'AKIA$HOME',
  secretAccessKey: SECRET,
};

const work = mkdtempSync(path.join(os.tmpdir(), 'coopctl-hosts3-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A stand-in rclone that records what it got (argv, environment, stdin) the way the real one would see it. */
function fakeRclone(): string {
  const bin = path.join(work, 'bin');
  spawnSync('mkdir', ['-p', bin]);
  const script = path.join(bin, 'rclone');
  writeFileSync(
    script,
    `#!/bin/bash
printf '%s\\n' "$@" > "${work}/argv"
env | grep '^RCLONE_CONFIG_COOPCTL_' | sort > "${work}/env"
cat > "${work}/object"
`,
  );
  chmodSync(script, 0o755);
  return bin;
}

describe('host-side S3 builders (rclone, configured by environment, credentials on stdin)', () => {
  it('keeps every credential out of the command line and puts them on stdin', () => {
    const { cmd, stdin } = uploadCommand(hostile, {
      file: '/var/backups/coopctl/x/db.dump.zst',
      fileBytes: 10,
      key: 'mastodon/prod/20261129T000000Z-abcdef/db.dump.zst.age',
      recipients: [RECIPIENT],
    });
    const line = toShell(cmd);
    expect(line).not.toContain('s3cr');
    expect(line).not.toContain('AKIA');
    expect(stdin).toBe(`AKIA$HOME\n${SECRET}\n`);
  });

  it('passes hostile values as arguments, never as script text, and uploads what age wrote', () => {
    const file = path.join(work, "it's a $(file).zst");
    writeFileSync(file, 'plain bytes');
    const { cmd, stdin } = uploadCommand(hostile, {
      file,
      fileBytes: 11,
      key: 'mastodon/prod/20261129T000000Z-abcdef/db.dump.zst.age',
      recipients: [RECIPIENT],
    });
    const r = spawnSync('sh', ['-c', toShell(cmd)], {
      input: stdin,
      encoding: 'utf8',
      // HOME: bash reads ~/.bashrc when its stdin is a socket, as Node's pipes are.
      env: { PATH: `${fakeRclone()}:${process.env.PATH}`, HOME: work, AWS_CA_BUNDLE: '/nowhere' },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const argv = readFileSync(path.join(work, 'argv'), 'utf8').trim().split('\n');
    expect(argv).toEqual([
      '--config',
      '/dev/null',
      '-q',
      '--contimeout',
      '10s',
      '--timeout',
      '60s',
      '--low-level-retries',
      '2',
      '--s3-no-check-bucket',
      'rcat',
      '--s3-chunk-size',
      '16M',
      'coopctl:coopctl-backups/coopctl/mastodon/prod/20261129T000000Z-abcdef/db.dump.zst.age',
    ]);
    expect(readFileSync(path.join(work, 'env'), 'utf8')).toBe(
      [
        'RCLONE_CONFIG_COOPCTL_ACCESS_KEY_ID=AKIA$HOME',
        `RCLONE_CONFIG_COOPCTL_ENDPOINT=${hostile.endpoint}`,
        'RCLONE_CONFIG_COOPCTL_ENV_AUTH=false',
        'RCLONE_CONFIG_COOPCTL_FORCE_PATH_STYLE=true',
        'RCLONE_CONFIG_COOPCTL_PROVIDER=Other',
        'RCLONE_CONFIG_COOPCTL_REGION=us-east-1$(id)',
        `RCLONE_CONFIG_COOPCTL_SECRET_ACCESS_KEY=${SECRET}`,
        'RCLONE_CONFIG_COOPCTL_TYPE=s3',
        '',
      ].join('\n'),
    );
    const object = readFileSync(path.join(work, 'object'));
    expect(object.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(parseSent(r.stdout)).toEqual({
      sha256: createHash('sha256').update(object).digest('hex'),
      size: object.length,
      plainSha256: createHash('sha256').update('plain bytes').digest('hex'),
    });
  });

  it('refuses what could escape its place before anything runs', () => {
    const u = { file: '/f', fileBytes: 1, key: 'a/b', recipients: [RECIPIENT] };
    expect(() => uploadCommand({ ...hostile, secretAccessKey: 'a\nb' }, u)).toThrow(
      /secret key: must be a single line/,
    );
    expect(() => uploadCommand({ ...hostile, secretAccessKey: 'a\nb' }, u)).not.toThrow(/a\nb/);
    expect(() => uploadCommand({ ...hostile, bucket: 'x/../y' }, u)).toThrow(/bucket/);
    expect(() => uploadCommand(hostile, { ...u, key: '../etc/passwd' })).toThrow(/bad store key/);
    expect(() => uploadCommand(hostile, { ...u, file: 'relative' })).toThrow(/absolute/);
    expect(() => uploadCommand(hostile, { ...u, recipients: ['age1$(id)'] })).toThrow(/recipient/);
  });

  it('names objects under the prefix and sizes parts so a large dump stays under 10,000', () => {
    expect(s3Object({ ...hostile, prefix: 'coopctl' }, 'a/b')).toBe('coopctl:coopctl-backups/coopctl/a/b');
    expect(s3Object({ ...hostile, prefix: '' }, 'a/b')).toBe('coopctl:coopctl-backups/a/b');
    expect(chunkSize(1)).toBe('16M');
    expect(chunkSize(500 * 1024 ** 3)).toBe('57M');
    expect(chunkSize(1, 5 * 1024 ** 2)).toBe('5M'); // backup.stores.NAME.partSize
    expect(chunkSize(500 * 1024 ** 3, 5 * 1024 ** 2)).toBe('57M');
    expect(parseSent(`stored-sha256 abc\nstored-bytes 12\nplain-sha256 ${'a'.repeat(64)}\n`)).toBeUndefined();
    expect(parseSent(`stored-sha256 ${'a'.repeat(64)}\nstored-bytes 12\n`)).toBeUndefined();
  });
});
