import { OperationError } from '../kernel/errors.js';

/**
 * Every way a backup operation fails once it has started. All exit 1; the
 * code goes into the --json error document so scripts can tell them apart.
 */
type BackupErrorCode =
  | 'store-unreachable'
  | 'upload-failed'
  | 'disk-full'
  | 'dump-failed'
  | 'connection-lost'
  | 'tampered'
  | 'wrong-key'
  | 'corrupt-dump'
  | 'restore-mismatch'
  | 'bad-manifest'
  | 'missing-object'
  | 'database-step-failed';

export class BackupError extends OperationError {
  declare readonly code: BackupErrorCode;

  constructor(
    code: BackupErrorCode,
    message: string,
    extra: { hints?: string[]; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { ...extra, code });
  }
}

/** Failures that say something about the backup itself, and so are recorded in its manifest. */
export function isVerdictOnBackup(err: unknown): err is BackupError {
  return (
    err instanceof BackupError && ['tampered', 'corrupt-dump', 'missing-object', 'restore-mismatch'].includes(err.code)
  );
}
