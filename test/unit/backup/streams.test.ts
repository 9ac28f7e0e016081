import { createHash } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { endsWhen, Meter } from '../../../src/backup/streams.js';

const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(64 * 1024, i));
const whole = Buffer.concat(chunks);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('stream helpers', () => {
  it('Meter counts and hashes what passes, unchanged', async () => {
    const m = new Meter();
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(chunks),
      m,
      new Writable({
        write: (c, _e, cb) => {
          out.push(c);
          cb();
        },
      }),
    );
    expect(m.bytes).toBe(whole.length);
    expect(m.sha256()).toBe(sha(whole));
    expect(Buffer.concat(out).equals(whole)).toBe(true);
  });

  it('endsWhen turns a clean end into an error when the check fails, so nothing downstream commits', async () => {
    const sink = new PassThrough();
    sink.resume();
    await expect(
      pipeline(
        Readable.from(chunks),
        endsWhen(() => Promise.reject(new Error('pg_dump exited 1'))),
        sink,
      ),
    ).rejects.toThrow('pg_dump exited 1');
    await expect(
      pipeline(
        Readable.from(chunks),
        endsWhen(() => Promise.resolve()),
        new PassThrough().resume(),
      ),
    ).resolves.toBeUndefined();
  });
});
