import { ToolOutputError } from '../kernel/errors.js';
import type { ShellLine } from '../remote/quote.js';
import { hostProgram, hostScript } from './hostProgram.js';
import { s3Command, s3Object, type HostS3 } from './hostS3.js';
import { assertKey } from './store/keys.js';

/**
 * The read side of the server-side data path (host/read.sh): a host streams an object from the S3 store (rclone
 * cat), or receives it from coopctl (a store on this machine), hashes it there, and, when a command follows,
 * decrypts it (age, identity on stdin) and feeds `zstd -d` of it to that command (pg_restore). Only progress lines,
 * the command's own output and one result line come back.
 */
export type ReadMode =
  /** Hash and size of the stored bytes only: no key needed. */
  | { kind: 'hash' }
  /** Then decrypt (age) or not (a plaintext backup), decompress and feed `into` (an argv) on the host. */
  | { kind: 'feed'; decrypt: 'age' | 'none'; into: readonly string[] };

/** Where the host reads the object from: the S3 store itself, or the bytes coopctl relays from a store here. */
type ReadSource = { s3: HostS3 } | 'relay';

/**
 * The command of a read on a host (host/read.sh), and what goes first on its stdin: the S3 credentials, then
 * (decrypting) the identities and a blank line; a relayed object follows that on stdin.
 */
export function hostReadCommand(
  source: ReadSource,
  key: string,
  mode: ReadMode,
  identities: readonly string[] = [],
): { cmd: ShellLine; stdin: string } {
  if (mode.kind === 'feed' && mode.into.length === 0) throw new Error('internal: nothing to feed');
  const decrypting = mode.kind === 'feed' && mode.decrypt === 'age';
  if (decrypting && identities.length === 0) throw new Error('internal: decrypting needs an identity');
  for (const i of identities) if (!/^AGE-SECRET-KEY-1[0-9A-Z]+$/.test(i)) throw new Error('internal: not an identity');
  const args = mode.kind === 'hash' ? ['hash'] : [mode.decrypt, ...mode.into];
  const keys = decrypting ? `${identities.join('\n')}\n\n` : '';
  const program = hostProgram('watchdog', 'read');
  if (source === 'relay') {
    assertKey(key);
    return { cmd: hostScript(program, ['-', ...args]), stdin: keys };
  }
  const c = s3Command(source.s3, program, [s3Object(source.s3, key), ...args]);
  return { cmd: c.cmd, stdin: c.stdin + keys };
}

interface HostReadResult {
  /** The fetch's exit code (rclone cat, or reading the relayed stdin; 0: all of it was read: sha256, size set). */
  fetch: number;
  /** The exit code of the pipeline that read, decrypted and fed it. */
  exit: number;
  sha256: string;
  size: number;
  /** sha256 of the decrypted bytes (what the manifest calls plainSha256); absent in hash mode. */
  plainSha256?: string;
  /** What the host command printed before the result line (pg_restore --list's table of contents). */
  output: string;
}

const RESULT = /^coopctl-read fetch=(\d+) exit=(\d+) sha256=([0-9a-f]{64})? size=(\d+)? plain=([0-9a-f]{64})?$/;

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
    fetch: Number(m[1]),
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
