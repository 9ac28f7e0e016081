import { Encrypter, identityToRecipient } from 'age-encryption';
import { ConfigError } from '../kernel/errors.js';
import { registerSecret } from '../kernel/redact.js';
import { BackupError } from './errors.js';

/**
 * age keys as coopctl handles them. Encryption and decryption themselves are `age` on the hosts (host/send.sh,
 * host/read.sh); here the `age-encryption` reference implementation only checks recipients and derives an
 * identity's recipient, never touching a backup's bytes.
 */

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
  try {
    return await Promise.all(identities.map((i) => identityToRecipient(i)));
  } catch {
    throw new ConfigError('backup.encryption.identity: not a valid age identity');
  }
}

/** Throws a ConfigError naming the first value that is not an age recipient. */
export function assertRecipients(recipients: readonly string[]): void {
  if (recipients.length === 0) throw new ConfigError('backup.encryption.recipients: no age recipient configured');
  const e = new Encrypter();
  for (const r of recipients) {
    try {
      e.addRecipient(r);
    } catch {
      throw new ConfigError(`backup.encryption.recipients: ${JSON.stringify(r)} is not an age recipient`);
    }
  }
}

/**
 * Whether `identities` open what is encrypted to `recipients`: an X25519 identity (the only kind parseIdentities
 * takes) opens a file exactly when its recipient is one of the file's.
 */
export async function identitiesOpen(recipients: readonly string[], identities: readonly string[]): Promise<boolean> {
  assertRecipients(recipients);
  const mine = await recipientsOf(identities);
  return mine.some((r) => recipients.includes(r));
}

/** What `age -d` said when it failed, as a verdict: the wrong key, or damaged data. */
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
