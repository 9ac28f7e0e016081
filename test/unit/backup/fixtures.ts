import type { Manifest } from '../../../src/backup/manifest.js';

const H = (c: string) => c.repeat(64);

/** A valid manifest to vary in tests. */
export function sampleManifest(over: Partial<Manifest> = {}): Manifest {
  return {
    format: 1,
    id: '20251126T035812Z-3f9a1c',
    service: 'mastodon',
    env: 'prod',
    host: 'rhizome',
    version: '4.4.8',
    database: {
      name: 'mastodon_production',
      size: 123456,
      serverVersion: '15.18',
      rowCounts: { accounts: 3, statuses: 10 },
    },
    createdAt: '2025-11-26T03:58:12.000Z',
    completedAt: '2025-11-26T03:59:00.000Z',
    size: 1000,
    sha256: H('a'),
    plainSha256: H('b'),
    compression: { algorithm: 'zstd', level: 3, where: 'host' },
    encryption: { algorithm: 'age', recipients: ['age1abc'], identityRef: 'pass:coopctl/age' },
    files: [{ name: 'db.dump.zst.age', kind: 'database', size: 1000, sha256: H('a'), plainSha256: H('b') }],
    tools: { pgDump: 'pg_dump (PostgreSQL) 15.18', coopctl: '0.1.0' },
    notes: [],
    verifications: [],
    ...over,
  };
}
