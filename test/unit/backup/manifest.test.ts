import { afterEach, describe, expect, it } from 'vitest';
import { backupDir, isBackupId, newBackupId, parseManifestKey } from '../../../src/backup/ids.js';
import {
  buildManifest,
  manifestDocument,
  parseManifest,
  serializeManifest,
  verificationState,
  volumeParts,
  withVerification,
  type BackupFile,
  type Manifest,
} from '../../../src/backup/manifest.js';
import { volumeFileNames } from '../../../src/backup/volumes.js';
import { clearSecrets, registerSecret } from '../../../src/kernel/redact.js';
import { sampleManifest } from './fixtures.js';

afterEach(() => clearSecrets());

describe('backup ids', () => {
  it('sort by time as strings and are safe path segments', () => {
    const a = newBackupId(new Date('2025-11-26T03:58:12.345Z'));
    const b = newBackupId(new Date('2025-11-26T03:58:13Z'));
    expect(a).toMatch(/^20251126T035812Z-[0-9a-f]{6}$/);
    expect(isBackupId(a)).toBe(true);
    expect([b, a].sort()).toEqual([a, b]);
    expect(backupDir('mastodon', 'prod', a)).toBe(`mastodon/prod/${a}/`);
    expect(() => backupDir('mastodon', '../etc', a)).toThrow();
    expect(parseManifestKey(`mastodon/prod/${a}/manifest.json`)).toEqual({ service: 'mastodon', env: 'prod', id: a });
    expect(parseManifestKey(`mastodon/prod/${a}/db.dump.zst.age`)).toBeUndefined();
  });
});

describe('manifests', () => {
  it('round-trip through the schema, keeping fields a newer coopctl may add', () => {
    const m = { ...sampleManifest(), futureField: { x: 1 } } as Manifest;
    expect(parseManifest(serializeManifest(m), 'm.json')).toEqual(m);
  });

  it('are rejected with the path of the first problem when damaged', () => {
    const bad = { ...sampleManifest(), sha256: 'nope' };
    expect(() => parseManifest(JSON.stringify(bad), 'x/manifest.json')).toThrow(
      /x\/manifest.json: manifest is invalid: sha256: must be a sha256 hex digest/,
    );
    expect(() => parseManifest('{', 'x')).toThrow(/not JSON/);
  });

  it('never carry a registered secret value', () => {
    registerSecret('AGE-SECRET-KEY-1SECRETSECRET');
    const m = sampleManifest({ notes: ['oops AGE-SECRET-KEY-1SECRETSECRET'] });
    expect(serializeManifest(m)).not.toContain('SECRETSECRET');
  });

  it('are verified when the latest result of every kind of check passed', () => {
    const at = (s: number) => new Date(Date.UTC(2025, 10, 26, 4, 0, s)).toISOString();
    let m = sampleManifest();
    expect(verificationState(m)).toBe('unverified');
    m = withVerification(m, { at: at(1), kind: 'hash', ok: true, details: {} });
    expect(manifestDocument(m)).toMatchObject({ verified: true, verification: 'verified' });
    m = withVerification(m, { at: at(2), kind: 'restore-scratch', ok: false, details: {} });
    m = withVerification(m, { at: at(3), kind: 'hash', ok: true, details: {} });
    // A later passing hash does not make an unrestorable dump good.
    expect(verificationState(m)).toBe('failed');
    m = withVerification(m, { at: at(4), kind: 'restore-scratch', ok: true, details: {} });
    expect(verificationState(m)).toBe('verified');
  });
});

describe('volume parts', () => {
  const hex = (c: string) => c.repeat(64);
  const volume = { name: 'mediawiki-images', docker: 'wiki_x_mediawiki-images', files: 312, bytes: 48_000_000 };
  const info = { ...volume, listSha256: hex('c') };
  const names = volumeFileNames('mediawiki-images', true);
  const part = (name: string, kind: BackupFile['kind'], c: string): BackupFile => ({
    name,
    kind,
    size: 10,
    sha256: hex(c),
    plainSha256: hex(c),
  });
  const withVolume = (): Manifest => {
    const m = sampleManifest();
    return buildManifest({
      ...m,
      level: 3,
      parts: [
        { ...part(names.archive, 'volume', 'a'), volume: info },
        { ...part(names.list, 'volume-list', 'b'), volume: info },
        ...m.files,
      ],
    });
  };

  it("are listed after the database with the volume's file count, total size and hash-list digest", () => {
    const m = withVolume();
    expect(m.files.map((f) => f.kind)).toEqual(['database', 'volume', 'volume-list']);
    expect(names).toEqual({
      archive: 'volume-mediawiki-images.tar.zst.age',
      list: 'volume-mediawiki-images.sums.zst.age',
    });
    const back = parseManifest(serializeManifest(m), 'm.json');
    expect(volumeParts(back)).toEqual([{ volume: info, archive: m.files[1], list: m.files[2] }]);
    expect(volumeParts(sampleManifest())).toEqual([]);
  });

  it('a volume part without its hash list, or without its counts, is a damaged manifest', () => {
    const m = withVolume();
    const noList = { ...m, files: m.files.filter((f) => f.kind !== 'volume-list') };
    expect(() => volumeParts(noList)).toThrow(/volume part volume-mediawiki-images.tar.zst.age has no hash list/);
    const noCount = { ...m, files: m.files.map((f) => (f.volume ? { ...f, volume: { ...volume, files: -1 } } : f)) };
    expect(() => parseManifest(JSON.stringify(noCount), 'x/manifest.json')).toThrow(
      /x\/manifest.json: manifest is invalid: files.1.volume.files/,
    );
  });
});
