import { Decrypter, Encrypter, identityToRecipient } from 'age-encryption';
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { ConfigError } from '../kernel/errors.js';
import { registerSecret } from '../kernel/redact.js';
import { BackupError } from './errors.js';

/**
 * age (https://age-encryption.org/v1), streaming: whatever coopctl writes,
 * `age -d -i KEY` reads, and the other way round.
 *
 * The header (recipient stanzas, file key wrapping, header MAC) is made and
 * read by `age-encryption`, the reference implementation in TypeScript. The
 * payload, age's STREAM construction (64 KiB chunks of ChaCha20-Poly1305,
 * nonce = 88-bit big-endian chunk counter + last-chunk flag, key =
 * HKDF-SHA256(file key, payload nonce, "payload")), is sealed and opened with
 * Node's native cipher: several times faster than the pure-JS one, which
 * would otherwise bound a backup's throughput.
 */
const CHUNK = 64 * 1024;
const TAG = 16;
const NONCE = 16;
const HEADER_LIMIT = 1024 * 1024;

/** An identity file may hold comments (age-keygen writes two); keep the key lines. */
export function parseIdentities(text: string, where: string): string[] {
  const keys = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
  if (keys.length === 0)
    throw new ConfigError(`${where}: holds no age identity (a line starting with AGE-SECRET-KEY-)`);
  for (const k of keys) registerSecret(k);
  return keys;
}

export async function recipientsOf(identities: readonly string[]): Promise<string[]> {
  return Promise.all(identities.map((i) => identityToRecipient(i)));
}

/** Throws a ConfigError naming the first value that is not an age recipient. */
export function assertRecipients(recipients: readonly string[]): void {
  encrypter(recipients);
}

function encrypter(recipients: readonly string[]): Encrypter {
  if (recipients.length === 0) throw new ConfigError('backup.encryption.recipients: no age recipient configured');
  const e = new Encrypter();
  for (const r of recipients) {
    try {
      e.addRecipient(r);
    } catch {
      throw new ConfigError(`backup.encryption.recipients: ${JSON.stringify(r)} is not an age recipient`);
    }
  }
  return e;
}

function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32));
}

function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6);
  if (last) nonce[11] = 1;
  return nonce;
}

/**
 * Header and payload nonce from the reference implementation, and the file
 * key: an extra recipient that adds no stanza is handed the file key.
 */
async function ageHead(recipients: readonly string[]): Promise<{ head: Buffer; key: Buffer }> {
  const e = encrypter(recipients);
  let fileKey: Uint8Array | undefined;
  e.addRecipient({
    wrapFileKey(key: Uint8Array) {
      fileKey = key;
      return [];
    },
  });
  // The file of an empty payload: header, 16-byte nonce, one empty final chunk (just its tag).
  const empty = Buffer.from(await e.encrypt(new Uint8Array(0)));
  const head = empty.subarray(0, empty.length - TAG);
  return { head, key: payloadKey(fileKey!, head.subarray(head.length - NONCE)) };
}

/**
 * Cuts its input into STREAM chunks, holding the last one back until the end
 * of the input says it is the last (it may be full; it is empty only when the
 * whole payload is).
 */
abstract class ChunkTransform extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  protected counter = 0;

  constructor(private readonly size: number) {
    super();
  }

  protected abstract chunk(data: Buffer, last: boolean): Buffer;

  override _transform(data: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes > this.size) {
      let all = Buffer.concat(this.pending, this.pendingBytes);
      try {
        while (all.length > this.size) {
          this.push(this.chunk(all.subarray(0, this.size), false));
          all = all.subarray(this.size);
        }
      } catch (err) {
        cb(err as Error);
        return;
      }
      this.pending = [all];
      this.pendingBytes = all.length;
    }
    cb();
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.push(this.chunk(Buffer.concat(this.pending, this.pendingBytes), true));
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
}

class StreamSealer extends ChunkTransform {
  constructor(
    private readonly head: Buffer,
    private readonly key: Buffer,
  ) {
    super(CHUNK);
  }

  protected chunk(plain: Buffer, last: boolean): Buffer {
    const c = createCipheriv('chacha20-poly1305', this.key, chunkNonce(this.counter, last), { authTagLength: TAG });
    const sealed = Buffer.concat([
      ...(this.counter === 0 ? [this.head] : []),
      c.update(plain),
      c.final(),
      c.getAuthTag(),
    ]);
    this.counter++;
    return sealed;
  }
}

class StreamOpener extends ChunkTransform {
  constructor(private readonly key: Buffer) {
    super(CHUNK + TAG);
  }

  protected chunk(sealed: Buffer, last: boolean): Buffer {
    if (sealed.length < TAG) throw new Error('the age file is truncated');
    if (last && sealed.length === TAG && this.counter > 0) throw new Error('the age file ends with an empty chunk');
    const d = createDecipheriv('chacha20-poly1305', this.key, chunkNonce(this.counter, last), { authTagLength: TAG });
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    let plain: Buffer;
    try {
      plain = Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG)), d.final()]);
    } catch {
      throw new Error(`chunk ${this.counter} does not authenticate${last ? '' : ' (or the file is truncated)'}`);
    }
    this.counter++;
    return plain;
  }
}

/** A transform whose output is the age file of its input. */
export async function encryptingStream(recipients: readonly string[]): Promise<Transform> {
  const { head, key } = await ageHead(recipients);
  return new StreamSealer(head, key);
}

/** Reads from a paused stream until `end(buffer)` says how much is the prefix; the rest is put back. */
async function readPrefix(source: Readable, end: (buf: Buffer) => number | undefined, limit: number): Promise<Buffer> {
  let buf = Buffer.alloc(0);
  for (;;) {
    const n = end(buf);
    if (n !== undefined) {
      if (buf.length > n) source.unshift(buf.subarray(n));
      return buf.subarray(0, n);
    }
    if (buf.length > limit) throw new Error('no age header found');
    const chunk = source.read() as Buffer | null;
    if (chunk !== null) {
      buf = Buffer.concat([buf, chunk]);
      continue;
    }
    if (source.readableEnded || source.destroyed) throw new Error('the age file is truncated (in its header)');
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        source.off('readable', done);
        source.off('end', done);
        source.off('close', done);
        source.off('error', fail);
        resolve();
      };
      const fail = (err: Error) => {
        done();
        reject(err);
      };
      source.on('readable', done);
      source.on('end', done);
      source.on('close', done);
      source.on('error', fail);
    });
  }
}

/** Header = up to and including the "--- MAC" line; then the 16-byte payload nonce. */
function headerEnd(buf: Buffer): number | undefined {
  const mac = buf.indexOf('\n--- ');
  if (mac < 0) return undefined;
  const eol = buf.indexOf('\n', mac + 1);
  if (eol < 0 || buf.length < eol + 1 + NONCE) return undefined;
  return eol + 1 + NONCE;
}

/**
 * The plaintext of an age stream. The header is read and the key tried
 * before this resolves, so a wrong key fails here, before any output; damage
 * in the payload fails the returned stream at the damaged chunk.
 */
export async function decryptingStream(source: Readable, identities: readonly string[]): Promise<Readable> {
  const d = new Decrypter();
  for (const i of identities) {
    try {
      d.addIdentity(i);
    } catch {
      throw new ConfigError('backup.encryption.identity: not a valid age identity');
    }
  }
  let key: Buffer;
  try {
    const head = await readPrefix(source, headerEnd, HEADER_LIMIT);
    const header = head.subarray(0, head.length - NONCE);
    key = payloadKey(await d.decryptHeader(header), head.subarray(head.length - NONCE));
  } catch (err) {
    source.destroy();
    throw decryptionError(err);
  }
  const opener = new StreamOpener(key);
  // Errors travel both ways: a source failure fails the output, a consumer giving up stops the source.
  pipeline(source, opener).catch(() => {});
  return opener;
}

/**
 * Whether `identities` open what coopctl encrypts to `recipients`: a probe
 * sealed and opened by the same code as a backup, before anything needs it.
 */
export async function identitiesOpen(recipients: readonly string[], identities: readonly string[]): Promise<boolean> {
  const probe = Buffer.from('coopctl identity probe');
  const sealed = await collect(new PassThrough().end(probe).pipe(await encryptingStream(recipients)));
  try {
    const plain = await collect(await decryptingStream(new PassThrough().end(sealed), identities));
    return plain.equals(probe);
  } catch (err) {
    if (err instanceof BackupError && err.code === 'wrong-key') return false;
    throw err;
  }
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of stream) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

export function decryptionError(err: unknown): BackupError {
  if (err instanceof BackupError) return err;
  const msg = (err as Error)?.message ?? String(err);
  if (/no identity matched/.test(msg)) {
    return new BackupError(
      'wrong-key',
      "cannot decrypt: the configured age identity is not one of the backup's recipients (wrong key)",
      {
        hints: [
          'check backup.encryption.identity: it must be the private key of one of the recipients ' +
            'listed in the manifest',
        ],
        cause: err,
      },
    );
  }
  return new BackupError('tampered', `cannot decrypt: the age data is damaged (${msg})`, { cause: err });
}
