import { InterruptedError } from '../kernel/errors.js';
import { sendOffsite, takeHostCopy } from './createOnHost.js';
import type { Manifest } from './manifest.js';
import type { CreateBackupOptions } from './settings.js';

export type { BackupSource, CreateBackupOptions, EncryptionSettings } from './settings.js';

/**
 * `backup create`: the on-host copy (takeHostCopy), then its parts sealed on the host and sent to the store
 * (sendOffsite); the manifest (with `hostCopy`, the copy's path on the host) last. On any failure (Ctrl-C
 * included) nothing of this backup is left in the store or on the host, and its dump session is ended.
 */
export async function createBackup(o: CreateBackupOptions): Promise<Manifest> {
  try {
    return await sendOffsite(o, await takeHostCopy(o));
  } catch (err) {
    if (o.signal?.aborted && !(err instanceof InterruptedError))
      throw new InterruptedError('interrupted: the backup was not taken and what it had written was removed', {
        cause: err,
      });
    throw err;
  }
}
