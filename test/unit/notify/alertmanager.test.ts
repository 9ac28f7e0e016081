import { describe, expect, it } from 'vitest';
import { AlertmanagerClient, AlertmanagerError } from '../../../src/notify/alertmanager.js';
import { useAlertmanager } from '../../helpers/alertmanager.js';
import { freePort } from '../../world/net.js';

/** The silences client against the real Alertmanager (Debian's prometheus-alertmanager), not a stand-in. */

const am = useAlertmanager();

const client = () => new AlertmanagerClient({ url: am().url, timeoutMs: 3000 });

describe('the Alertmanager silences client', () => {
  it('creates a silence Alertmanager holds active, with its matchers, creator and comment; expires it', async () => {
    const endsAt = new Date(Date.now() + 3_600_000);
    const id = await client().createSilence({
      matchers: { service: 'mastodon', env: 'alpha' },
      endsAt,
      createdBy: 'ana',
      comment: 'coopctl upgrade (record r1)',
    });
    const held = (await client().silences()).find((s) => s.id === id);
    expect(held).toMatchObject({ state: 'active', createdBy: 'ana', comment: 'coopctl upgrade (record r1)' });
    expect(held?.matchers.map((m) => [m.name, m.value, m.isRegex]).sort()).toEqual([
      ['env', 'alpha', false],
      ['service', 'mastodon', false],
    ]);
    expect(Math.abs(Date.parse(held!.endsAt) - endsAt.getTime())).toBeLessThan(1000);

    await client().expireSilence(id);
    expect((await client().silences()).find((s) => s.id === id)?.state).toBe('expired');
  });

  it('silences what it matches: an alert of mastodon/alpha is suppressed, one of mastodon/prod is not', async () => {
    const id = await client().createSilence({
      matchers: { service: 'mastodon', env: 'alpha' },
      endsAt: new Date(Date.now() + 600_000),
      createdBy: 'ana',
      comment: 'test',
    });
    const alert = (env: string) => ({
      labels: { alertname: 'ServiceDown', service: 'mastodon', env },
      annotations: {},
    });
    const post = await fetch(`${am().url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([alert('alpha'), alert('prod')]),
    });
    expect(post.status).toBe(200);
    const alerts = (await (await fetch(`${am().url}/api/v2/alerts`)).json()) as Array<{
      labels: Record<string, string>;
      status: { state: string; silencedBy: string[] };
    }>;
    const byEnv = Object.fromEntries(alerts.map((a) => [a.labels.env, a.status]));
    expect(byEnv.alpha).toEqual({ state: 'suppressed', silencedBy: [id], inhibitedBy: [] });
    expect(byEnv.prod).toMatchObject({ state: 'active', silencedBy: [] });
    await client().expireSilence(id);
  });

  it('names what went wrong: a refused connection, a bad request (its text), an id it does not know', async () => {
    const down = new AlertmanagerClient({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 1000 });
    await expect(down.silences()).rejects.toThrow(/127\.0\.0\.1:\d+: connection refused/);
    const bad = client().createSilence({ matchers: {}, endsAt: new Date(), createdBy: 'ana', comment: 'x' });
    await expect(bad).rejects.toThrow(AlertmanagerError);
    await expect(bad).rejects.toThrow(/POST \/api\/v2\/silences: (400|422) /);
    await expect(client().expireSilence('8d3a5b6e-0000-4000-8000-000000000000')).rejects.toThrow(
      /DELETE \/api\/v2\/silence\/8d3a5b6e-0000-4000-8000-000000000000: (404|500) /,
    );
  });
});
