import { afterEach, describe, expect, it } from 'vitest';
import { backupDir, isBackupId, newBackupId, parseManifestKey } from '../../../src/backup/ids.js';
import {
  manifestDocument,
  parseManifest,
  serializeManifest,
  verificationState,
  withVerification,
  type Manifest,
} from '../../../src/backup/manifest.js';
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
