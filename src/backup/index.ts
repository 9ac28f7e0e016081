/** The backup subsystem's public API, as the CLI's backup commands and bench/backup-lib use it. */
export { listBackups, findBackup } from './catalog.js';
export { createBackup } from './create.js';
export { parseIdentities } from './crypto.js';
export { assertBackupId } from './ids.js';
export { manifestDocument, verificationState, verifiedHow, volumeParts, type Manifest } from './manifest.js';
export { progressText, type Progress } from './progress.js';
export { planStorePrune, applyPrune } from './prune.js';
export { restoreScratch } from './restore.js';
export { LocalStore } from './store/local.js';
export { verifyBackup } from './verify.js';
