import type { HostS3 } from '../hostS3.js';
import type { Readable } from 'node:stream';

/**
 * Where backups live. Keys are relative ("mastodon/prod/<id>/manifest.json");
 * a store maps them onto its directory or bucket prefix.
 *
 * Contract: an object written with put/putText is visible under its key only
 * once it is complete; a failed put leaves nothing under the key.
 */
export interface BackupStore {
  /** "local /var/backups/coopctl" or "s3 bucket/prefix at endpoint": for messages. */
  readonly description: string;
  /** S3 stores: how a host reaches it with rclone, so the data path runs there (src/backup/hostS3.ts). */
  readonly hostS3?: HostS3;
  /** Fails (store-unreachable) when the store cannot be reached or written: called before a dump starts. */
  check(): Promise<void>;
  /** Streams body to key. Rejects (upload-failed, disk-full) without leaving an object; destroys body on failure. */
  put(key: string, body: Readable): Promise<{ size: number }>;
  /** A small object (a manifest), replaced atomically. */
  putText(key: string, text: string): Promise<void>;
  get(key: string): Promise<Readable>;
  getText(key: string): Promise<string>;
  /** Every complete object's key under prefix ("" for all), in no particular order. */
  list(prefix: string): Promise<string[]>;
  delete(keys: readonly string[]): Promise<void>;
}

const SEGMENT = /^[\w][\w.-]*$/;

/** Keys are built by coopctl, but a store still refuses anything that could escape its root. */
export function assertKey(key: string): string {
  const parts = key.split('/');
  if (!parts.every((p) => SEGMENT.test(p) && p !== '..'))
    throw new Error(`internal: bad store key ${JSON.stringify(key)}`);
  return key;
}

export function assertPrefix(prefix: string): string {
  if (prefix !== '') assertKey(prefix.replace(/\/$/, ''));
  return prefix;
}
