/** The backup subsystem's public API (the CLI and the upgrade pipeline import from here). */
export { listBackups, findBackup, latestBackup, writeManifest, manifestKeys, type BackupFilter, type Listing } from './catalog.js';
export { DEFAULT_COMPRESSION, type Compression, type DbTarget } from './commands.js';
export { createBackup, type BackupSource, type CreateBackupOptions, type EncryptionSettings } from './create.js';
export { parseIdentities, recipientsOf } from './crypto.js';
export { swapDatabases, dropDatabase, createDatabase } from './database.js';
export { BackupError, isBackupError, type BackupErrorCode } from './errors.js';
export { isBackupId, assertBackupId } from './ids.js';
export {
  isVerified,
  manifestDocument,
  verificationState,
  type Manifest,
  type Verification,
  type VerificationKind,
  type VerificationState,
} from './manifest.js';
export { progressText, type Progress, type BackupPhase, type ProgressListener } from './progress.js';
export { planPrune, planStorePrune, applyPrune, findOrphans, type PrunePlan, type PruneDecision, type Orphan, type RetentionPolicy } from './prune.js';
export { restoreScratch, restoreToNewDatabase, restoreNames, scratchName, type RestoreHost, type RestoreOptions, type ScratchOutcome } from './restore.js';
export { storeFromConfig, openStore, defaultLocalDir, type StoreDeps } from './store/open.js';
export { LocalStore } from './store/local.js';
export type { S3Settings, S3Store } from './store/s3.js';
export type { BackupStore } from './store/types.js';
export { verifyBackup, type VerifyOptions, type VerifyOutcome } from './verify.js';
