import { identitiesOpen, recipientsOf } from '../backup/crypto.js';
import { describeSecretRef } from '../kernel/secrets.js';
import { backupIdentities, openBackupStore } from '../backup/configured.js';
import { fail, pass } from '../targets/check.js';
import type { Check } from '../targets/target.js';

/**
 * Every secret a change may need, resolved before anything changes: the
 * store's keys for the safety backup, and the age identity that a restore
 * needs, proven against the recipients. The stages after preflight reuse
 * these values (src/backup/configured.ts), so no restore stops for a secret
 * and gpg is never asked for anything mid-run.
 */
export const secretsCheck: Check = {
  id: 'secrets',
  appliesTo: (t) => t.database !== undefined,
  async run({ context }) {
    const { store: name, stores, encryption } = context.config.backup;
    const store = stores[name];
    const refs = store?.type === 's3' ? [store.accessKeyId, store.secretAccessKey] : [];
    await openBackupStore(context);
    const identities = await backupIdentities(context);
    if (encryption && identities) {
      refs.push(encryption.identity);
      if (!(await identitiesOpen(encryption.recipients, identities))) {
        const at = ['backup', 'encryption', 'identity'];
        const ref = describeSecretRef(encryption.identity);
        return fail(
          `${context.loaded.locate(at)} ${at.join('.')}: ${ref} does not open what backup.encryption.recipients ` +
            `encrypt (it is the key of ${(await recipientsOf(identities)).join(', ')}): a restore could not decrypt`,
          `store the private key of one of the recipients in ${ref}, or add its public key to the recipients`,
        );
      }
    }
    const names = refs.map(describeSecretRef).join(', ');
    if (!names) return pass('none needed');
    return pass(`${names} resolved${encryption ? '; the identity opens what the recipients encrypt' : ''}`);
  },
};
