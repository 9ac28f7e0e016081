import { assertBackupId, findBackup, manifestDocument, verifyBackup } from '../../../backup/index.js';
import { isVerdictOnBackup } from '../../../backup/errors.js';
import { CoopctlError, ExitCode } from '../../../kernel/errors.js';
import type { CommandContext } from '../../context.js';
import { backupIdentities, openBackupStore } from '../../../backup/configured.js';
import { restoreTestPlace } from '../../../workspace/restoreTest.js';
import { interruptible, progressPrinter, restoreTest } from './common.js';

/**
 * Stream the backup back and check its hash; unless --quick, also decrypt it
 * and have pg_restore read its table of contents where its restore test runs (restoreTestPlace).
 */
export async function run(
  ctx: CommandContext,
  opts: { store?: string; quick?: boolean; restore?: boolean },
  [id]: string[],
) {
  if (opts.restore) return restoreTest(ctx, id, opts.store);
  assertBackupId(id);
  const ws = ctx.workspace();
  const store = await openBackupStore(ws, opts.store);
  const manifest = await findBackup(store, id);
  const deep = !opts.quick;
  const needsKey = deep && manifest.encryption.algorithm === 'age';
  // An S3 store is read on the restore-test host (when there is one): nothing crosses this machine's link.
  const onHost = deep || (store.hostAccess && ws.config.backup.restoreTest);
  const [keys, host] = await Promise.all([
    needsKey ? backupIdentities(ws) : undefined,
    onHost ? restoreTestPlace(ws, manifest) : undefined,
  ]);
  const lister = deep ? host : undefined;
  const progress = progressPrinter(ctx);
  let r;
  try {
    r = await interruptible(ctx, 'backup verify', (signal) =>
      verifyBackup({
        store,
        manifest,
        identities: keys,
        lister,
        hashOn: host?.host,
        onProgress: progress.onProgress,
        record: !ctx.global.dryRun,
        signal,
      }),
    );
  } catch (err) {
    // The backup failed its verification and nothing changed: refused, exit 3 (its code says how it failed).
    if (!isVerdictOnBackup(err)) throw err;
    const { code, hints, details } = err;
    throw new CoopctlError(err.message, { code, exitCode: ExitCode.refused, hints, details, cause: err });
  } finally {
    progress.done();
  }
  if (ctx.global.json) return ctx.printer.json(manifestDocument(r.manifest));
  const d = r.verification.details;
  ctx.printer.out(
    `${id}: ok (${r.verification.kind}${d.tocEntries ? `, ${String(d.tocEntries)} entries in the dump` : ''})`,
  );
  if (ctx.global.dryRun) ctx.printer.info('! not recorded in the manifest (dry run)');
}
