import { execa } from 'execa';
import type { Duplex } from 'node:stream';
import { describeCommand } from '../kernel/process.js';

/**
 * A local program used as a stream filter (zstd when compression runs on
 * this machine). ProcessRunner.run takes its input as a string, which a dump
 * is not, so filters are spawned here; they only read stdin and write stdout,
 * so --dry-run has nothing to skip. A failure (exit status, missing program)
 * errors the returned stream.
 */
export function localFilter(argv: readonly string[], log: (line: string) => void = () => {}): Duplex {
  const [file, ...args] = argv;
  log(`$ ${describeCommand(file, args)}`);
  const sub = execa(file, args, { buffer: { stdout: false, stderr: true } });
  sub.catch(() => {}); // reported through the stream
  return sub.duplex({ binary: true });
}
