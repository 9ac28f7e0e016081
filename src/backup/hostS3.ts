import { InputError } from '../kernel/errors.js';
import type { ShellLine } from '../remote/quote.js';
import { hostProgram, hostScript } from './hostProgram.js';
import { sendArgs } from './send.js';
import { assertKey, assertPrefix } from './store/keys.js';

/**
 * The object store as a host reaches it, with Debian's rclone: configured only through environment variables
 * (remote "coopctl"), `--config /dev/null`. The access key and secret reach the host ONLY on the command's stdin
 * (two lines, read by host/s3-preamble.sh), never in argv or a file; every other value is a positional argument of
 * `bash -c SCRIPT coopctl ARG...`, never spliced into the script's text.
 */
export interface HostS3 {
  /** Unset: AWS. For a host: as the host reaches it, which may differ from what the operator's machine uses. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix in the bucket ("coopctl/"). */
  prefix: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  /** backup.stores.NAME.partSize: the smallest part of an upload, in bytes (default 16 MiB). */
  partSize?: number;
}

const LINE = /^[^\n\r]*$/;

function assertSettings(s: HostS3): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s.bucket))
    throw new InputError(`S3 bucket ${JSON.stringify(s.bucket)} is not a bucket name`);
  for (const [what, v] of [
    ['endpoint', s.endpoint ?? ''],
    ['region', s.region],
    ['access key', s.accessKeyId],
    ['secret key', s.secretAccessKey],
  ] as const) {
    // Never echo a credential, not even in this message.
    if (!LINE.test(v)) throw new InputError(`S3 ${what}: must be a single line`);
  }
  assertPrefix(s.prefix === '' || s.prefix.endsWith('/') ? s.prefix : `${s.prefix}/`);
}

/** The positional arguments host/s3-preamble.sh takes. */
function preambleArgs(s: HostS3): string[] {
  assertSettings(s);
  return [s.endpoint ?? '', s.region, String(s.forcePathStyle)];
}

/** What goes on stdin first: the credentials, one per line. */
function s3Stdin(s: HostS3): string {
  assertSettings(s);
  return `${s.accessKeyId}\n${s.secretAccessKey}\n`;
}

/** `coopctl:BUCKET/PREFIXKEY`: an object as rclone names it. */
export function s3Object(s: HostS3, key: string): string {
  const prefix = s.prefix === '' || s.prefix.endsWith('/') ? s.prefix : `${s.prefix}/`;
  return `coopctl:${s.bucket}/${prefix}${assertKey(key)}`;
}

const MIB = 1024 * 1024;

/**
 * rclone streams an upload of unknown length in parts of --s3-chunk-size (default 5 MiB, at most 10,000 parts:
 * 48 GiB). The file's size is known: parts of at least `partBytes` (the store's partSize, default 16 MiB: fewer
 * requests), larger for a file that would need more than 9,000 (the age overhead and some margin stay below S3's
 * limit). rclone buffers about 4 parts in memory on the host.
 */
export function chunkSize(fileBytes: number, partBytes = 16 * MIB): string {
  const mib = Math.max(Math.ceil(partBytes / MIB), Math.ceil(fileBytes / 9000 / MIB));
  return `${mib}M`;
}

interface HostUpload {
  /** Absolute path of the file on the host. */
  file: string;
  fileBytes: number;
  key: string;
  recipients: readonly string[];
}

/**
 * The upload of one on-host file, encrypted (host/send.sh after host/s3-preamble.sh), to one key: the command and
 * its stdin. It prints its reports on stdout (send.ts parseSent).
 */
export function uploadCommand(s: HostS3, u: HostUpload): { cmd: ShellLine; stdin: string } {
  const a = sendArgs(u.file, u.recipients);
  return s3Command(s, hostProgram('send'), [
    a.file,
    s3Object(s, u.key),
    chunkSize(u.fileBytes, s.partSize),
    ...a.recipients,
  ]);
}

/**
 * host/s3-preamble.sh + body as one host command, with the settings as its first arguments: for the programs that
 * use rclone (send.sh, read.sh). Their own arguments are $1... after the preamble's shift.
 */
export function s3Command(s: HostS3, body: string, args: readonly string[]): { cmd: ShellLine; stdin: string } {
  return { cmd: hostScript(hostProgram('s3-preamble') + body, [...preambleArgs(s), ...args]), stdin: s3Stdin(s) };
}
