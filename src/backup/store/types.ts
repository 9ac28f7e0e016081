import type { Readable } from 'node:stream';
import type { HostS3 } from '../hostS3.js';

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
  /**
   * How a host reaches this store itself (S3): then backups go from the host to the store, and are read there.
   * A store without it is on this machine (`local`): it receives what a host sends (put), as ciphertext.
   */
  hostAccess?(): HostS3;
  /** Fails (store-unreachable) when the store cannot be reached or written: called before a dump starts. */
  check(): Promise<void>;
  /**
   * A store on this machine: streams body (the bytes a host relays) to key. Rejects (upload-failed, disk-full)
   * without leaving an object; destroys body on failure.
   */
  put?(key: string, body: Readable): Promise<{ size: number }>;
  /** A small object (a manifest), replaced atomically. */
  putText(key: string, text: string): Promise<void>;
  get(key: string): Promise<Readable>;
  getText(key: string): Promise<string>;
  /** Every complete object's key under prefix ("" for all), in no particular order. */
  list(prefix: string): Promise<string[]>;
  delete(keys: readonly string[]): Promise<void>;
  /** Writes that never completed (`.partial` files, multipart uploads) under prefix: never objects, never listed. */
  unfinished(prefix: string): Promise<UnfinishedWrite[]>;
  /** Removes one: deletes the file, aborts the upload. */
  discard(w: UnfinishedWrite): Promise<void>;
}

export interface UnfinishedWrite {
  /** The key the write was for. */
  key: string;
  /** When it started (ISO 8601). */
  startedAt: string;
  /** When it was last written to, when the store knows: a write still going on is recent. */
  writtenAt?: string;
  /** Bytes so far, when the store knows. */
  size: number | null;
  /** The file's name in the key's directory (local store). */
  file?: string;
  /** The multipart upload's id (S3). */
  uploadId?: string;
  /** The process that wrote it, when the store can tell ("pid 4242 on laptop"), and whether it still runs. */
  writer?: { name: string; running: boolean };
}
