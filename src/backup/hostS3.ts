import { InputError } from '../kernel/errors.js';
import { assertKey } from './store/types.js';

/**
 * rclone on a host, talking to the S3 store (issue 9: the data path runs on the server). Builders only (pure):
 * the script text is fixed, every value reaches it as a positional argument of `bash -c SCRIPT coopctl ARG...`,
 * and the access key and secret only on the command's stdin (never in argv, never in a file).
 */
export interface HostS3 {
  /** The endpoint as the hosts reach it (they may see the store elsewhere than the operator does). */
  endpoint?: string;
  region: string;
  bucket: string;
  /** "" or ending in "/". */
  prefix: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Reads the two credential lines from stdin and configures the `coopctl:` remote through rclone's environment
 * ($1 endpoint, $2 region, $3 path style); after it, the body's own arguments are $1.... AWS_CA_BUNDLE (set on
 * some machines) would make rclone fail to load its CA file: it is not passed on.
 */
const PREAMBLE = `set -u
IFS= read -r COOPCTL_K || exit 97
IFS= read -r COOPCTL_S || exit 97
export RCLONE_CONFIG_COOPCTL_TYPE=s3 RCLONE_CONFIG_COOPCTL_PROVIDER=Other RCLONE_CONFIG_COOPCTL_ENV_AUTH=false
export RCLONE_CONFIG_COOPCTL_ACCESS_KEY_ID="$COOPCTL_K" RCLONE_CONFIG_COOPCTL_SECRET_ACCESS_KEY="$COOPCTL_S"
export RCLONE_CONFIG_COOPCTL_ENDPOINT="$1" RCLONE_CONFIG_COOPCTL_REGION="$2" RCLONE_CONFIG_COOPCTL_FORCE_PATH_STYLE="$3"
unset COOPCTL_K COOPCTL_S AWS_CA_BUNDLE
shift 3
`;

function oneLine(value: string, what: string): string {
  if (/[\r\n\0]/.test(value)) throw new Error(`S3 ${what} must be one line`);
  return value;
}

/** argv of `bash -c PREAMBLE+body coopctl <s3 settings> ...args`, and the stdin that must come first. */
export function rcloneCommand(s3: HostS3, body: string, args: readonly string[]): { argv: string[]; stdin: string } {
  const settings = [s3.endpoint ?? '', s3.region, String(s3.forcePathStyle)].map((v) => oneLine(v, 'setting'));
  return {
    argv: ['bash', '-c', PREAMBLE + body, 'coopctl', ...settings, ...args],
    stdin: `${oneLine(s3.accessKeyId, 'access key')}\n${oneLine(s3.secretAccessKey, 'secret key')}\n`,
  };
}

/** The rclone path of a store key: `coopctl:BUCKET/PREFIXKEY` (the store checked prefix and key already). */
export function remotePath(s3: HostS3, key: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s3.bucket))
    throw new InputError(`S3 bucket ${JSON.stringify(s3.bucket)}: not a bucket name (a-z, 0-9, '.', '-')`);
  return `coopctl:${s3.bucket}/${s3.prefix}${assertKey(key)}`;
}
