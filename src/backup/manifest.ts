import { z } from 'zod';
import { redact } from '../kernel/redact.js';
import { BackupError } from './errors.js';
import { isBackupId } from './ids.js';

/**
 * The record of one backup, written to the store after every object of the
 * backup is complete: a backup without a manifest does not exist. Read back
 * through the schema, so a damaged manifest is reported, never trusted.
 */
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest');
const isoTime = z.iso.datetime({ offset: true });
const bytes = z.number().int().nonnegative();

const verificationKinds = ['hash', 'restore-list', 'restore-scratch'] as const;
export type VerificationKind = (typeof verificationKinds)[number];

const verificationSchema = z.object({
  at: isoTime,
  kind: z.enum(verificationKinds),
  ok: z.boolean(),
  details: z.record(z.string(), z.unknown()).default({}),
});
export type Verification = z.output<typeof verificationSchema>;

/** A volume's part: what the archive holds, as the host listed it (host/volume-list.sh). */
const volumeSchema = z.object({
  /** As in the config's `volumes:`. */
  name: z.string(),
  /** The Docker volume it was read from. */
  docker: z.string(),
  files: bytes,
  /** The files' total size (not the archive's). */
  bytes,
  /** Of the hash list (one `NAME SIZE SHA256` line per file): the restore test compares it. */
  listSha256: sha256,
  /** Files changed while tar read them (a live app writing): the archive holds them as read. */
  changedWhileArchived: z.boolean().optional(),
});
export type VolumeInfo = z.output<typeof volumeSchema>;

const backupFileSchema = z.object({
  name: z.string().regex(/^[\w.-]+$/),
  /** `volume`: a volume's zstd(tar); `volume-list`: its hash list, compressed (each with `volume`). */
  kind: z.enum(['database', 'secrets', 'volume', 'volume-list']),
  /** Bytes as stored (encrypted). */
  size: bytes,
  /** Over the stored bytes: verify checks it without the key. */
  sha256,
  /** Over the plaintext (what `age -d` prints: for the database, the zstd-compressed dump). */
  plainSha256: sha256,
  volume: volumeSchema.optional(),
});
export type BackupFile = z.output<typeof backupFileSchema>;

const encryptionSchema = z.discriminatedUnion('algorithm', [
  z.object({
    algorithm: z.literal('age'),
    recipients: z.array(z.string()).min(1),
    /** The secret reference (pass:..., file:..., env:...) that holds the identity; never the key. */
    identityRef: z.string().nullable(),
  }),
  z.object({ algorithm: z.literal('none') }),
]);
export type EncryptionInfo = z.output<typeof encryptionSchema>;

const manifestSchema = z.looseObject({
  format: z.literal(1),
  id: z.string().refine(isBackupId, 'is not a backup id'),
  service: z.string(),
  env: z.string(),
  host: z.string(),
  /** The service's version when the backup was taken, as the service reports it. */
  version: z.string().nullable(),
  database: z.object({
    name: z.string(),
    size: bytes,
    serverVersion: z.string(),
    rowCounts: z.record(z.string(), z.number().int().nonnegative()),
  }),
  createdAt: isoTime,
  completedAt: isoTime,
  /** Of the database object (also listed in files). */
  size: bytes,
  sha256,
  plainSha256: sha256,
  /** `local`: compressed on the operator's machine, by earlier coopctl versions (read, no longer written). */
  compression: z.object({ algorithm: z.literal('zstd'), level: z.number().int(), where: z.enum(['host', 'local']) }),
  encryption: encryptionSchema,
  files: z.array(backupFileSchema).min(1),
  tools: z.object({ pgDump: z.string(), coopctl: z.string() }),
  notes: z.array(z.string()).default([]),
  /** Where the backup's on-host copy was written (db.dump.zst: the plaintext), when it was taken on the host. */
  hostCopy: z.object({ host: z.string(), file: z.string() }).optional(),
  verifications: z.array(verificationSchema).default([]),
});
export type Manifest = z.output<typeof manifestSchema>;

/** What a backup is, and its parts (database, secrets file, ...) with the hashes and sizes the host reported. */
interface ManifestInput {
  id: string;
  service: string;
  env: string;
  host: string;
  version: string | null;
  database: Manifest['database'];
  createdAt: string;
  completedAt: string;
  /** zstd's level on the host. */
  level: number;
  encryption: EncryptionInfo;
  parts: readonly BackupFile[];
  tools: Manifest['tools'];
  notes: readonly string[];
  hostCopy?: Manifest['hostCopy'];
}

/**
 * The one place a manifest is made: from the parts the host sent. The database part is listed first and its
 * hashes are also the manifest's own (`size`, `sha256`, `plainSha256`: what list, verify and restore read).
 */
export function buildManifest(i: ManifestInput): Manifest {
  const db = i.parts.find((p) => p.kind === 'database');
  if (!db) throw new Error('internal: a backup without its database part');
  return {
    format: 1,
    id: i.id,
    service: i.service,
    env: i.env,
    host: i.host,
    version: i.version,
    database: i.database,
    createdAt: i.createdAt,
    completedAt: i.completedAt,
    size: db.size,
    sha256: db.sha256,
    plainSha256: db.plainSha256,
    compression: { algorithm: 'zstd', level: i.level, where: 'host' },
    encryption: i.encryption,
    files: [db, ...i.parts.filter((p) => p !== db)],
    tools: i.tools,
    notes: [...i.notes],
    ...(i.hostCopy && { hostCopy: i.hostCopy }),
    verifications: [],
  };
}

export function serializeManifest(m: Manifest): string {
  return `${redact(JSON.stringify(m, null, 2))}\n`;
}

export function parseManifest(text: string, where: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new BackupError('bad-manifest', `${where}: manifest is not JSON`);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new BackupError(
      'bad-manifest',
      `${where}: manifest is invalid: ${first.path.join('.') || '(top level)'}: ${first.message}`,
    );
  }
  return r.data;
}

export function databaseFile(m: Manifest): BackupFile {
  const f = m.files.find((x) => x.kind === 'database');
  if (!f) throw new BackupError('bad-manifest', `backup ${m.id}: manifest lists no database file`);
  return f;
}

/** Each volume of a backup: its archive and hash list parts. */
export function volumeParts(m: Manifest): Array<{ volume: VolumeInfo; archive: BackupFile; list: BackupFile }> {
  const parts = [];
  for (const archive of m.files.filter((f) => f.kind === 'volume')) {
    const volume = archive.volume;
    const list = m.files.find((f) => f.kind === 'volume-list' && f.volume?.name === volume?.name);
    if (!volume || !list)
      throw new BackupError('bad-manifest', `backup ${m.id}: volume part ${archive.name} has no hash list`);
    parts.push({ volume, archive, list });
  }
  return parts;
}

type VerificationState = 'verified' | 'failed' | 'unverified';

/**
 * Verified when the latest result of every kind of check that has run is a
 * pass. A failed scratch restore is not undone by a later passing hash check:
 * the dump is still unrestorable.
 */
export function verificationState(m: Manifest): VerificationState {
  if (m.verifications.length === 0) return 'unverified';
  return [...latestOfEachKind(m).values()].every((v) => v.ok) ? 'verified' : 'failed';
}

function latestOfEachKind(m: Manifest): Map<VerificationKind, Verification> {
  const latest = new Map<VerificationKind, Verification>();
  for (const v of m.verifications) {
    const seen = latest.get(v.kind);
    if (!seen || v.at >= seen.at) latest.set(v.kind, v);
  }
  return latest;
}

/** How far a verified backup was proven, weakest to strongest. */
export type VerifiedHow = 'hash-checked' | 'structure-checked' | 'restore-tested';

const HOW: Record<VerificationKind, VerifiedHow> = {
  hash: 'hash-checked',
  'restore-list': 'structure-checked',
  'restore-scratch': 'restore-tested',
};

/**
 * "Verified" says how: a hash proves the stored bytes are the ones written;
 * `pg_restore --list` that they are a whole dump (a truncated one fails it);
 * a scratch restore with matching row counts that the data comes back.
 */
export function verifiedHow(m: Manifest): VerifiedHow | null {
  if (verificationState(m) !== 'verified') return null;
  const kinds = [...latestOfEachKind(m).keys()];
  const order: VerificationKind[] = ['restore-scratch', 'restore-list', 'hash'];
  return HOW[order.find((k) => kinds.includes(k))!];
}

export function isVerified(m: Manifest): boolean {
  return verificationState(m) === 'verified';
}

export function withVerification(m: Manifest, v: Verification): Manifest {
  return { ...m, verifications: [...m.verifications, v] };
}

/** The --json document of `backup create|verify|list`: the manifest plus its derived state. */
export function manifestDocument(
  m: Manifest,
): Manifest & { verified: boolean; verification: VerificationState; verifiedHow: VerifiedHow | null } {
  return { ...m, verified: isVerified(m), verification: verificationState(m), verifiedHow: verifiedHow(m) };
}

/** Newest first: by creation time, then id (ids start with the time too). */
export function newestFirst(a: Manifest, b: Manifest): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
