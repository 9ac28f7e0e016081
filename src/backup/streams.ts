import { createHash, type Hash } from 'node:crypto';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';

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

interface HashedCopy<T> {
  bytes: number;
  sha256: string;
  /** The consumer's result, or its failure (the source was still read to the end). */
  outcome: { ok: true; value: T } | { ok: false; error: unknown };
}

/**
 * Reads `source` to the end, hashing every byte, and feeds the bytes to
 * `consume` with backpressure. If the consumer gives up (a decryption or
 * restore error), reading continues without it: the hash over the whole
 * object then tells a tampered object apart from a wrong key or a bad dump.
 * An error of the source itself (the store) is thrown.
 */
export async function hashedCopy<T>(
  source: Readable,
  consume: (feed: Readable) => Promise<T>,
  onBytes?: (bytes: number) => void,
): Promise<HashedCopy<T>> {
  const hash = createHash('sha256');
  const feed = new PassThrough({ highWaterMark: 1024 * 1024 });
  let consumerDone = false;
  const outcome = consume(feed).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  void outcome.then(() => {
    consumerDone = true;
    if (!feed.destroyed) feed.destroy();
  });
  let bytes = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(bytes);
      if (!consumerDone && !feed.destroyed && !feed.write(chunk)) {
        await drainedOrClosed(feed);
      }
    }
  } catch (err) {
    feed.destroy();
    await outcome;
    throw err;
  }
  if (!feed.destroyed) feed.end();
  return { bytes, sha256: hash.digest('hex'), outcome: await outcome };
}

function drainedOrClosed(s: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}
