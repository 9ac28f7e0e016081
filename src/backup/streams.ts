import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** Counts and hashes (sha256) the bytes that flow through, unchanged. */
export class Meter extends Transform {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private digest?: string;

  constructor(private readonly onBytes?: (bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    cb(null, chunk);
  }

  /** Hex sha256 of everything that passed; only once the stream has ended. */
  sha256(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }
}

/**
 * Passes data through, but holds back the end of the stream until `check`
 * resolves: a remote command's exit status decides whether its output was
 * complete. If it rejects, the stream errors instead of ending, so nothing
 * downstream can commit a truncated object.
 */
export function endsWhen(check: () => Promise<void>): Transform {
  return new Transform({
    transform(chunk, _enc, cb) {
      cb(null, chunk);
    },
    flush(cb) {
      check().then(
        () => cb(),
        (err: Error) => cb(err),
      );
    },
  });
}
