import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { BackupError } from '../errors.js';
import type { HostS3 } from '../hostS3.js';
import { assertKey, assertPrefix } from './keys.js';
import type { BackupStore, UnfinishedWrite } from './types.js';

/** The store's coordinates and keys (as for the hosts, below), and how this machine reaches it. */
export interface S3Settings extends HostS3 {
  /** The endpoint as the hosts reach it, when it differs from the operator's (`endpoint`). */
  hostEndpoint?: string;
  /** SDK attempts per request (retries on network errors and 5xx). */
  maxAttempts?: number;
  connectTimeoutMs?: number;
}

/**
 * S3-compatible object storage (production: DigitalOcean Spaces), as this machine sees it: manifests, lists,
 * reads and deletes. The backups' objects are written by the hosts (host/send.sh, `rclone rcat`: a multipart
 * upload, an object only once completed) and read there (host/read.sh); an upload a host left unfinished is listed
 * by `unfinished` and aborted by `discard`.
 */
export class S3Store implements BackupStore {
  readonly description: string;
  readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly s: S3Settings) {
    this.prefix = assertPrefix(s.prefix === '' || s.prefix.endsWith('/') ? s.prefix : `${s.prefix}/`);
    this.description = `s3 ${s.bucket}/${this.prefix}${s.endpoint ? ` at ${s.endpoint}` : ''}`;
    this.client = new S3Client({
      endpoint: s.endpoint,
      region: s.region,
      forcePathStyle: s.forcePathStyle,
      credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
      maxAttempts: s.maxAttempts ?? 3,
      // S3-compatible services (Spaces, s3rver) do not all speak the newer flexible checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: s.connectTimeoutMs ?? 10_000 },
    });
  }

  hostAccess(): HostS3 {
    const s = this.s;
    return {
      endpoint: s.hostEndpoint ?? s.endpoint,
      region: s.region,
      bucket: s.bucket,
      prefix: this.prefix,
      forcePathStyle: s.forcePathStyle,
      accessKeyId: s.accessKeyId,
      secretAccessKey: s.secretAccessKey,
      partSize: s.partSize,
    };
  }

  private key(key: string): string {
    return this.prefix + assertKey(key);
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.s.bucket }));
    } catch (err) {
      throw new BackupError(
        'store-unreachable',
        `backup store ${this.description} is unreachable: ${describeS3Error(err)}`,
        { cause: err },
      );
    }
  }

  async putText(key: string, text: string): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.s.bucket,
          Key: this.key(key),
          Body: text,
          ContentType: 'application/json',
        }),
      );
    } catch (err) {
      throw new BackupError('upload-failed', `writing ${key} to ${this.description} failed: ${describeS3Error(err)}`, {
        cause: err,
      });
    }
  }

  async get(key: string): Promise<Readable> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.s.bucket, Key: this.key(key) }));
      return r.Body as Readable;
    } catch (err) {
      throw this.readError(err, key);
    }
  }

  async getText(key: string): Promise<string> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.s.bucket, Key: this.key(key) }));
      return await r.Body!.transformToString('utf8');
    } catch (err) {
      throw this.readError(err, key);
    }
  }

  private readError(err: unknown, key: string): BackupError {
    if (isNotFound(err))
      return new BackupError('missing-object', `${key} is missing from ${this.description}`, { cause: err });
    return new BackupError(
      'store-unreachable',
      `cannot read ${key} from ${this.description}: ${describeS3Error(err)}`,
      { cause: err },
    );
  }

  list(prefix: string): Promise<string[]> {
    return this.listAll(this.description, async (after: string | undefined) => {
      const r = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.s.bucket,
          Prefix: this.prefix + assertPrefix(prefix),
          ContinuationToken: after,
        }),
      );
      const keys = (r.Contents ?? []).flatMap((o) =>
        o.Key?.startsWith(this.prefix) ? [o.Key.slice(this.prefix.length)] : [],
      );
      return { items: keys, next: (r.IsTruncated && r.NextContinuationToken) || undefined };
    });
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.s.bucket, Key: this.key(key) }));
      } catch (err) {
        throw new BackupError(
          'store-unreachable',
          `cannot delete ${key} from ${this.description}: ${describeS3Error(err)}`,
          { cause: err },
        );
      }
    }
  }

  unfinished(prefix: string): Promise<UnfinishedWrite[]> {
    type Marker = { KeyMarker: string; UploadIdMarker?: string };
    return this.listAll(`the unfinished uploads of ${this.description}`, async (after: Marker | undefined) => {
      const r = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.s.bucket,
          Prefix: this.prefix + assertPrefix(prefix),
          ...after,
        }),
      );
      const found: UnfinishedWrite[] = [];
      for (const u of r.Uploads ?? []) {
        if (!u.Key?.startsWith(this.prefix) || !u.UploadId) continue;
        const startedAt = (u.Initiated ?? new Date(0)).toISOString();
        found.push({ key: u.Key.slice(this.prefix.length), startedAt, size: null, uploadId: u.UploadId });
      }
      const next =
        r.IsTruncated && r.NextKeyMarker
          ? { KeyMarker: r.NextKeyMarker, UploadIdMarker: r.NextUploadIdMarker }
          : undefined;
      return { items: found, next };
    });
  }

  /** Every page of a listing: `page` asks for the one after the previous page's marker (none: the first). */
  private async listAll<T, M>(
    what: string,
    page: (after: M | undefined) => Promise<{ items: T[]; next?: M }>,
  ): Promise<T[]> {
    const all: T[] = [];
    let after: M | undefined;
    try {
      do {
        const p = await page(after);
        all.push(...p.items);
        after = p.next;
      } while (after !== undefined);
    } catch (err) {
      throw new BackupError('store-unreachable', `cannot list ${what}: ${describeS3Error(err)}`, { cause: err });
    }
    return all;
  }

  async discard(w: UnfinishedWrite): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.s.bucket, Key: this.key(w.key), UploadId: w.uploadId }),
      );
    } catch (err) {
      throw new BackupError(
        'store-unreachable',
        `cannot abort the upload of ${w.key} to ${this.description}: ${describeS3Error(err)}`,
        { cause: err },
      );
    }
  }

  close(): void {
    this.client.destroy();
  }
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  cause?: { code?: string };
  $metadata?: { httpStatusCode?: number };
  errors?: { code?: string }[];
}

function isNotFound(err: unknown): boolean {
  const e = err as SdkError;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** One line a person can act on, from whatever the SDK threw. */
function describeS3Error(err: unknown): string {
  const e = err as SdkError;
  const code = e?.code ?? e?.cause?.code ?? e?.errors?.[0]?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection reset while sending';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'endpoint host not found';
  if (code === 'ETIMEDOUT' || e?.name === 'TimeoutError') return 'timed out';
  const status = e?.$metadata?.httpStatusCode;
  if (status === 403) return 'access denied (check the access key and secret)';
  if (e?.name === 'NoSuchBucket' || (status === 404 && e?.name === 'NotFound')) return 'bucket does not exist';
  const msg = e?.message && e.message !== 'UnknownError' ? e.message : (e?.name ?? String(err));
  return status ? `${msg} (HTTP ${status})` : msg;
}
