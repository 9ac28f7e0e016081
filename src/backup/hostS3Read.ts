import { ToolOutputError } from '../kernel/errors.js';
import type { ShellLine } from '../remote/quote.js';
import { CHANNEL_WATCHDOG } from './hostRun.js';
import { s3Command, s3Object, type HostS3 } from './hostS3.js';

/**
 * The download side of the server-side data path: a host streams an object from the store (rclone cat), hashes
 * it there, and, when a command follows, decrypts it (age, identity on stdin) and feeds `zstd -d` of it to that
 * command (pg_restore). Only progress lines, the command's own output and one result line come back.
 */
export type ReadMode =
  /** Hash and size of the stored bytes only: no key needed. */
  | { kind: 'hash' }
  /** Then decrypt (age) or not (a plaintext backup), decompress and feed `into` (an argv) on the host. */
  | { kind: 'feed'; decrypt: 'age' | 'none'; into: readonly string[] };

/**
 * $1 the rclone path, $2 hash|age|none, the rest: the command fed with the zstd-decompressed plaintext.
 * A watchdog writes a blank line to stderr every 2 s: once coopctl has closed the channel (Ctrl-C) the write
 * fails and it ends the whole process group, so nothing goes on reading or restoring for no one.
 * `tee -p` goes on hashing the whole object when what it feeds stops early (pg_restore failing), so a failure
 * downstream is never mistaken for a changed object.
 * dd reports its count every second, turned into `bytes N` lines on stderr. Each hash lands in a file of a
 * private temporary directory (hashes are no secret) and `wait` collects the process substitutions before the
 * result line is printed, after everything else on stdout (fetched runs in a subshell: its `wait` is not for the
 * watchdog).
 */
const READ_SCRIPT = `src=$1 mode=$2
shift 2
need=rclone
case $mode in age) need="rclone age zstd" ;; none) need="rclone zstd" ;; esac
for t in $need; do
  type -P "$t" >/dev/null || { echo "coopctl: $t is not installed on this host" >&2; exit 127; }
done
d=$(mktemp -d) || exit 98
trap 'rm -rf "$d"' EXIT
trap 'exit 143' TERM
${CHANNEL_WATCHDOG}
watchdog=$!
set -o pipefail
# dd's counts ("\\rN bytes ...", each ended only by the next one's \\r) as "bytes N" lines, at once: a count that
# no \\r has followed within 0.5 s is complete (bash reads a pipe byte by byte; awk would buffer it all).
progress() {
  local l rc
  while :; do
    IFS= read -r -t 0.5 -d $'\\r' l
    rc=$?
    case $l in [0-9]*' bytes '*) echo "bytes \${l%% *}" ;; esac
    [ "$rc" -eq 0 ] || [ "$rc" -gt 128 ] || break
  done
}
fetched() {
  { rclone cat "$src" </dev/null; echo "$?" >"$d/rclone"; } |
    dd bs=1M status=progress 2> >(progress >&2) |
    tee -p >(sha256sum >"$d/object") >(wc -c >"$d/size")
  wait
}
# rclone cat reads a missing object as an empty directory (exit 0): an object is what --stat says is no directory.
stat=$(rclone lsjson --stat "$src" </dev/null)
st=$?
if [ "$st" -eq 0 ]; then
  case $stat in
    *'"IsDir": false'* | *'"IsDir":false'*) ;;
    *) echo "coopctl: $src: object not found" >&2; st=4 ;;
  esac
fi
if [ "$st" -ne 0 ]; then
  kill "$watchdog" 2>/dev/null
  printf 'coopctl-read rclone=%s exit=0 sha256= size= plain=\\n' "$st"
  exit 0
fi
case $mode in
  hash) (fetched) >/dev/null ;;
  age) age -d -i - <(fetched) | tee -p >(sha256sum >"$d/plain") | zstd -d -q -c | "$@" ;;
  none) fetched | tee -p >(sha256sum >"$d/plain") | zstd -d -q -c | "$@" ;;
esac
rc=$?
kill "$watchdog" 2>/dev/null
wait
printf 'coopctl-read rclone=%s exit=%s sha256=%s size=%s plain=%s\\n' "$(cat "$d/rclone" 2>/dev/null)" "$rc" \\
  "$(cut -c1-64 "$d/object" 2>/dev/null)" "$(tr -d ' ' <"$d/size" 2>/dev/null)" "$(cut -c1-64 "$d/plain" 2>/dev/null)"
exit "$rc"
`;

/** The command and stdin of a read on a host: credentials first, then (decrypting) the identities for `-i -`. */
export function hostReadCommand(
  s3: HostS3,
  key: string,
  mode: ReadMode,
  identities: readonly string[] = [],
): { cmd: ShellLine; stdin: string } {
  if (mode.kind === 'feed' && mode.into.length === 0) throw new Error('internal: nothing to feed');
  if (mode.kind === 'feed' && mode.decrypt === 'age' && identities.length === 0)
    throw new Error('internal: decrypting needs an identity');
  const args = mode.kind === 'hash' ? ['hash'] : [mode.decrypt, ...mode.into];
  const c = s3Command(s3, READ_SCRIPT, [s3Object(s3, key), ...args]);
  const decrypting = mode.kind === 'feed' && mode.decrypt === 'age';
  return { cmd: c.cmd, stdin: decrypting ? `${c.stdin}${identities.join('\n')}\n` : c.stdin };
}

interface HostReadResult {
  /** rclone's exit code (0: the whole object was read; then sha256 and size are set). */
  rclone: number;
  /** The exit code of the pipeline that read, decrypted and fed it. */
  exit: number;
  sha256: string;
  size: number;
  /** sha256 of the decrypted bytes (what the manifest calls plainSha256); absent in hash mode. */
  plainSha256?: string;
  /** What the host command printed before the result line (pg_restore --list's table of contents). */
  output: string;
}

const RESULT = /^coopctl-read rclone=(\d+) exit=(\d+) sha256=([0-9a-f]{64})? size=(\d+)? plain=([0-9a-f]{64})?$/;

/**
 * The result line (the last line of stdout), read strictly: undefined when there is none (the script did not get
 * that far; its exit code and stderr say why), ToolOutputError when it is there but malformed.
 */
export function parseHostRead(stdout: string, host: string): HostReadResult | undefined {
  const text = stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout;
  const cut = text.lastIndexOf('\n');
  const last = text.slice(cut + 1);
  if (!last.startsWith('coopctl-read ')) return undefined;
  const m = RESULT.exec(last);
  if (!m || (m[1] === '0' && (!m[3] || !m[4]))) {
    throw new ToolOutputError(`${host}: unexpected result of the read from the store: ${JSON.stringify(last)}`);
  }
  return {
    rclone: Number(m[1]),
    exit: Number(m[2]),
    sha256: m[3] ?? '',
    size: Number(m[4] ?? 0),
    plainSha256: m[5],
    output: cut < 0 ? '' : text.slice(0, cut + 1),
  };
}

/** The byte counts in the host's `bytes N` progress lines, in order. */
export function progressBytes(stderrChunk: string): number[] {
  return [...stderrChunk.matchAll(/^bytes (\d+)$/gm)].map((m) => Number(m[1]));
}
