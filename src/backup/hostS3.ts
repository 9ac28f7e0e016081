import { InputError } from '../kernel/errors.js';
import { ShellLine } from '../remote/quote.js';
import { assertRecipients } from './crypto.js';
import { assertKey, assertPrefix } from './store/types.js';

/**
 * The object store as a host reaches it, with Debian's rclone: configured only through environment variables
 * (remote "coopctl"), `--config /dev/null`. The access key and secret reach the host ONLY on the command's stdin
 * (two lines, read by S3_PREAMBLE), never in argv or a file; every other value is a positional argument of
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
}

/**
 * Reads the credentials (stdin's first two lines) and exports rclone's configuration; consumes the first three
 * positional arguments (endpoint, region, path style). bash's `read` takes no byte past its line, so what follows
 * on stdin (an age identity) is the next command's. AWS_CA_BUNDLE (set on some machines) breaks rclone.
 * --s3-no-check-bucket: a key that may write objects need not be allowed to create (or list) buckets.
 */
const S3_PREAMBLE = `unset AWS_CA_BUNDLE
IFS= read -r RCLONE_CONFIG_COOPCTL_ACCESS_KEY_ID || { echo 'coopctl: no S3 credentials on stdin' >&2; exit 90; }
IFS= read -r RCLONE_CONFIG_COOPCTL_SECRET_ACCESS_KEY || { echo 'coopctl: no S3 credentials on stdin' >&2; exit 90; }
export RCLONE_CONFIG_COOPCTL_ACCESS_KEY_ID RCLONE_CONFIG_COOPCTL_SECRET_ACCESS_KEY
export RCLONE_CONFIG_COOPCTL_TYPE=s3 RCLONE_CONFIG_COOPCTL_PROVIDER=Other RCLONE_CONFIG_COOPCTL_ENV_AUTH=false
export RCLONE_CONFIG_COOPCTL_ENDPOINT="$1" RCLONE_CONFIG_COOPCTL_REGION="$2" RCLONE_CONFIG_COOPCTL_FORCE_PATH_STYLE="$3"
shift 3
rclone() {
  command rclone --config /dev/null -q --contimeout 10s --timeout 60s --low-level-retries 2 --s3-no-check-bucket "$@"
}
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
export function hostScript(script: string, args: readonly string[]): ShellLine {
  return ShellLine.argv(['bash', '-c', script, 'coopctl', ...args]);
}

const MIB = 1024 * 1024;

/**
 * rclone streams an upload of unknown length in parts of --s3-chunk-size (default 5 MiB, at most 10,000 parts:
 * 48 GiB). The file's size is known: parts of at least 16 MiB (fewer requests), larger for a file that would
 * need more than 9,000 (the age overhead and some margin stay below S3's limit). rclone buffers about
 * 4 parts in memory on the host.
 */
export function chunkSize(fileBytes: number): string {
  const mib = Math.max(16, Math.ceil(fileBytes / 9000 / MIB));
  return `${mib}M`;
}

/**
 * A file on the host → age (to the recipients) → the store object; prints `stored-sha256 HEX` and
 * `stored-bytes N` (of the encrypted bytes, as they went up) and `progress N` lines (bytes of the file read so far,
 * every second). If its output goes nowhere (the operator's connection closed), it stops everything it started.
 */
const UPLOAD = `${S3_PREAMBLE}set -o pipefail
file=$1 remote=$2 chunk=$3
shift 3
a=()
for r in "$@"; do a+=(-r "$r"); done
exec 5<"$file" || exit 1
( trap '' PIPE
  while sleep 1; do sed -n 's/^pos:[[:space:]]*/progress /p' "/proc/$$/fdinfo/5" || kill -TERM 0; done ) &
loop=$!
exec 4> >(sha256sum | { read -r h _; echo "stored-sha256 $h"; }); hashed=$!
exec 6> >(wc -c | { read -r n; echo "stored-bytes $n"; }); counted=$!
age "\${a[@]}" <&5 | tee /dev/fd/4 /dev/fd/6 | rclone rcat --s3-chunk-size "$chunk" "$remote" 4>&- 6>&-
st=$?
exec 4>&- 6>&-
wait "$hashed" "$counted"
kill "$loop" 2>/dev/null
exit "$st"
`;

interface HostUpload {
  /** Absolute path of the file on the host. */
  file: string;
  fileBytes: number;
  key: string;
  recipients: readonly string[];
}

/** The upload of one on-host file, encrypted, to one key: the command and its stdin. */
export function uploadCommand(s: HostS3, u: HostUpload): { cmd: ShellLine; stdin: string } {
  if (!u.file.startsWith('/')) throw new InputError(`${JSON.stringify(u.file)} must be an absolute path`);
  assertRecipients(u.recipients);
  for (const r of u.recipients) if (!/^age1[0-9a-z]+$/.test(r)) throw new InputError(`not an age recipient: ${r}`);
  return {
    cmd: hostScript(UPLOAD, [...preambleArgs(s), u.file, s3Object(s, u.key), chunkSize(u.fileBytes), ...u.recipients]),
    stdin: s3Stdin(s),
  };
}

/** What UPLOAD printed, strictly: undefined when a line is missing or malformed. */
export function parseUpload(stdout: string): { sha256: string; size: number } | undefined {
  const sha = /^stored-sha256 ([0-9a-f]{64})$/m.exec(stdout)?.[1];
  const size = /^stored-bytes (\d+)$/m.exec(stdout)?.[1];
  return sha && size ? { sha256: sha, size: Number(size) } : undefined;
}

/**
 * S3_PREAMBLE + body as one host command, with the settings as its first arguments: for the scripts of other
 * modules (hostS3Read.ts). Their own arguments are $1... after the preamble's shift.
 */
export function s3Command(s: HostS3, body: string, args: readonly string[]): { cmd: ShellLine; stdin: string } {
  return { cmd: hostScript(S3_PREAMBLE + body, [...preambleArgs(s), ...args]), stdin: s3Stdin(s) };
}
