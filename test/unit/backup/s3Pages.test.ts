import type { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Store } from '../../../src/backup/store/s3.js';

/**
 * Paging through a listing, which s3rver cannot do (jamhall/s3rver issue #814: ListObjectsV2 with fewer MaxKeys
 * than objects answers 500 InternalError, and a bucket past 1,000 keys fails the same way), so the pages here are
 * S3's documented answers:
 * - ListObjectsV2: at most 1,000 keys; IsTruncated with NextContinuationToken, sent back as ContinuationToken
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html);
 * - ListMultipartUploads: at most 1,000 uploads; IsTruncated with NextKeyMarker and NextUploadIdMarker, sent back
 *   as KeyMarker and UploadIdMarker (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html).
 */
function store(pages: Array<Record<string, unknown>>) {
  const s = new S3Store({
    endpoint: 'http://127.0.0.1:1',
    region: 'us-east-1',
    bucket: 'b',
    prefix: 'coopctl',
    forcePathStyle: true,
    accessKeyId: 'k',
    secretAccessKey: 's',
  });
  const asked: Array<Record<string, unknown>> = [];
  const send = async (cmd: ListObjectsV2Command | ListMultipartUploadsCommand) => {
    asked.push({ ...cmd.input });
    const page = pages.shift();
    if (!page) throw new Error('asked past the last page');
    return page;
  };
  Object.assign(s.client, { send });
  return { s, asked };
}

describe('S3 listings read every page', () => {
  it('list: follows NextContinuationToken until a page is not truncated', async () => {
    const { s, asked } = store([
      { Contents: [{ Key: 'coopctl/m/a' }, { Key: 'coopctl/m/b' }], IsTruncated: true, NextContinuationToken: 't1' },
      { Contents: [{ Key: 'coopctl/m/c' }, { Key: 'elsewhere/x' }], IsTruncated: true, NextContinuationToken: 't2' },
      { Contents: [{ Key: 'coopctl/m/d' }], IsTruncated: false },
    ]);
    expect(await s.list('m/')).toEqual(['m/a', 'm/b', 'm/c', 'm/d']);
    expect(asked.map((a) => [a.Prefix, a.ContinuationToken])).toEqual([
      ['coopctl/m/', undefined],
      ['coopctl/m/', 't1'],
      ['coopctl/m/', 't2'],
    ]);
  });

  it('unfinished: follows NextKeyMarker and NextUploadIdMarker', async () => {
    const at = new Date('2026-12-01T00:00:00Z');
    const { s, asked } = store([
      {
        Uploads: [{ Key: 'coopctl/m/1/db.dump.zst.age', UploadId: 'u1', Initiated: at }],
        IsTruncated: true,
        NextKeyMarker: 'coopctl/m/1/db.dump.zst.age',
        NextUploadIdMarker: 'u1',
      },
      { Uploads: [{ Key: 'coopctl/m/2/db.dump.zst.age', UploadId: 'u2', Initiated: at }], IsTruncated: false },
    ]);
    expect((await s.unfinished('m/')).map((u) => [u.key, u.uploadId, u.startedAt])).toEqual([
      ['m/1/db.dump.zst.age', 'u1', at.toISOString()],
      ['m/2/db.dump.zst.age', 'u2', at.toISOString()],
    ]);
    expect(asked.map((a) => [a.KeyMarker, a.UploadIdMarker])).toEqual([
      [undefined, undefined],
      ['coopctl/m/1/db.dump.zst.age', 'u1'],
    ]);
  });

  it('a page that fails is the store unreachable, naming the listing', async () => {
    const { s } = store([{ Contents: [{ Key: 'coopctl/m/a' }], IsTruncated: true, NextContinuationToken: 't1' }]);
    await expect(s.list('m/')).rejects.toMatchObject({
      code: 'store-unreachable',
      message: expect.stringMatching(/^cannot list s3 b\/coopctl\/ at http:\/\/127\.0\.0\.1:1: /),
    });
  });
});
