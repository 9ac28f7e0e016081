import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeDatabaseClients } from '../../../src/services/mastodon/host.js';
import type { Target } from '../../../src/targets/target.js';
import { LocalHost } from '../../helpers/localHost.js';

function target(compose: string): Target {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-compose-'));
  writeFileSync(path.join(dataDir, 'docker-compose.yml'), compose);
  const t = { host: { name: 'rhizome' }, paths: { dataDir }, remote: new LocalHost() };
  return {
    ...t,
    database: { name: 'mastodon_production', user: 'postgres', container: 'db', tables: [] },
  } as unknown as Target;
}

describe("the Mastodon profile's database clients, from the compose file on the host", () => {
  it('every service that depends on the database or reads .env.production, several sidekiq processes included', async () => {
    const compose = `services:
  db: { image: postgres:15 }
  redis: { image: redis:7 }
  web: { image: m, env_file: .env.production, depends_on: [db, redis] }
  streaming: { image: s, env_file: [.env.production], depends_on: { db: { condition: service_healthy } } }
  sidekiq-default: { image: m, env_file: .env.production }
  sidekiq-push: { image: m, depends_on: [db] }
  es: { image: elasticsearch }
`;
    expect(await composeDatabaseClients(target(compose))).toEqual([
      'web',
      'streaming',
      'sidekiq-default',
      'sidekiq-push',
    ]);
  });

  it('a compose file that names no client, or is not YAML, is an error rather than a swap under a running app', async () => {
    await expect(composeDatabaseClients(target('services:\n  db: { image: postgres }\n'))).rejects.toThrow(
      /names no service/,
    );
    await expect(composeDatabaseClients(target('services: [\n'))).rejects.toThrow(/is not YAML/);
  });
});
