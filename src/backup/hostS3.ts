import { InputError } from '../kernel/errors.js';
import { ShellLine } from '../remote/quote.js';
import type { S3Settings } from './store/s3.js';
import { assertKey, assertPrefix } from './store/types.js';

/**
 * The object store as a host reaches it, with Debian's rclone: configured only through environment variables
 * (remote "coopctl"), `--config /dev/null`. The access key and secret reach the host ONLY on the command's stdin
 * (two lines, read by S3_PREAMBLE), never in argv or a file; every other value is a positional argument of
 * `bash -c SCRIPT coopctl ARG...`, never spliced into the script's text. The settings are the S3 store's, with
 * the endpoint as the hosts reach it (S3Store.hostAccess).
 */
export type HostS3 = Pick<
  S3Settings,
  'endpoint' | 'region' | 'bucket' | 'prefix' | 'forcePathStyle' | 'accessKeyId' | 'secretAccessKey'
>;

/**
 * Reads the credentials (stdin's first two lines) and exports rclone's configuration; consumes the first three
 * positional arguments (endpoint, region, path style). bash's `read` takes no byte past its line, so what follows
 * on stdin (an age identity) is the next command's. AWS_CA_BUNDLE (set on some machines) breaks rclone.
 */
const S3_PREAMBLE = `unset AWS_CA_BUNDLE
IFS= read -r RCLONE_CONFIG_COOPCTL_ACCESS_KEY_ID || { echo 'coopctl: no S3 credentials on stdin' >&2; exit 90; }
IFS= read -r RCLONE_CONFIG_COOPCTL_SECRET_ACCESS_KEY || { echo 'coopctl: no S3 credentials on stdin' >&2; exit 90; }
export RCLONE_CONFIG_COOPCTL_ACCESS_KEY_ID RCLONE_CONFIG_COOPCTL_SECRET_ACCESS_KEY
export RCLONE_CONFIG_COOPCTL_TYPE=s3 RCLONE_CONFIG_COOPCTL_PROVIDER=Other RCLONE_CONFIG_COOPCTL_ENV_AUTH=false
export RCLONE_CONFIG_COOPCTL_ENDPOINT="$1" RCLONE_CONFIG_COOPCTL_REGION="$2" RCLONE_CONFIG_COOPCTL_FORCE_PATH_STYLE="$3"
shift 3
rclone() { command rclone --config /dev/null -q --contimeout 10s --timeout 60s --low-level-retries 2 "$@"; }
`;

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

/** The positional arguments S3_PREAMBLE takes. */
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

/** bash -c SCRIPT coopctl ARG...: the script's text is fixed, every value an argument. */
function hostScript(script: string, args: readonly string[]): ShellLine {
  return ShellLine.argv(['bash', '-c', script, 'coopctl', ...args]);
}

/**
 * S3_PREAMBLE + body as one host command, with the settings as its first arguments: for the scripts of other
 * modules (hostS3Read.ts). Their own arguments are $1... after the preamble's shift.
 */
export function s3Command(s: HostS3, body: string, args: readonly string[]): { cmd: ShellLine; stdin: string } {
  return { cmd: hostScript(S3_PREAMBLE + body, [...preambleArgs(s), ...args]), stdin: s3Stdin(s) };
}
