import { describe, expect, it } from 'vitest';
import type { SwarmApp } from '../../doubles/abra/swarm.js';
import { serviceRows } from '../../doubles/swarmDocker.js';

const NOW = Date.parse('2026-08-10T12:00:00Z');

function app(stack: string, extra: Partial<SwarmApp> = {}): SwarmApp {
  return {
    stack,
    recipe: 'mediawiki',
    version: '1.1.0+1.42.1',
    chaos: false,
    status: 'deployed',
    healthy: true,
    deployedAt: '2026-08-10T11:00:00Z',
    snapshots: [],
    services: [
      { name: 'app', image: 'mediawiki:1.42.1' },
      { name: 'db', image: 'postgres:15' },
    ],
    ...extra,
  };
}

describe('docker service ls rows', () => {
  it("have docker's JSON keys, 12-character ids, and replicas running/wanted", () => {
    const rows = serviceRows({ 'a.test': app('a_test') }, NOW);
    expect(rows).toEqual([
      {
        ID: expect.any(String),
        Image: 'mediawiki:1.42.1',
        Mode: 'replicated',
        Name: 'a_test_app',
        Ports: '',
        Replicas: '1/1',
      },
      {
        ID: expect.any(String),
        Image: 'postgres:15',
        Mode: 'replicated',
        Name: 'a_test_db',
        Ports: '',
        Replicas: '1/1',
      },
    ]);
    for (const r of rows) expect(r.ID).toMatch(/^[0-9a-z]{12}$/);
    expect(rows[0].ID).not.toBe(rows[1].ID);
  });

  it('show the app 0/1 while its task fails or has not converged, 0/0 when scaled down; nothing when undeployed', () => {
    const rows = serviceRows(
      {
        'failed.test': app('failed_test', { healthy: false }),
        'settling.test': app('settling_test', { healthy: false, convergesAt: '2026-08-10T12:00:05Z' }),
        'settled.test': app('settled_test', { healthy: false, convergesAt: '2026-08-10T11:59:55Z' }),
        'scaled.test': app('scaled_test', { replicas: { app: 0 } }),
        'gone.test': app('gone_test', { status: 'undeployed' }),
      },
      NOW,
    );
    expect(Object.fromEntries(rows.map((r) => [r.Name, r.Replicas]))).toEqual({
      failed_test_app: '0/1',
      failed_test_db: '1/1',
      scaled_test_app: '0/0',
      scaled_test_db: '1/1',
      settled_test_app: '1/1',
      settled_test_db: '1/1',
      settling_test_app: '0/1',
      settling_test_db: '1/1',
    });
  });
});
