import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import { httpGet, proxyHeaders } from '../helpers/mastodonHost.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import {
  changeWhileUnhealthy,
  SandboxMastodon,
  setHealthTimeout,
  upgradeToBrokenRelease,
} from '../helpers/upgradeSandbox.js';

/**
 * Verification through a caching proxy, as production has it: each sandbox
 * Mastodon sits behind Debian's nginx configured like Mastodon's
 * dist/nginx.conf, which keeps /api/v2/instance for the max-age Rails sends
 * (180 s) and serves stale copies while the app is down. coopctl must read
 * what runs on the host and check the public URL only for reachability.
 * The tests build on each other: alpha 4.4.7 → 4.4.8 → (4.5.0 fails,
 * restored) → a backup restored while the app is down → rolled back to
 * 4.4.7 while the app is down.
 */

interface ChangeDoc {
  ok: boolean;
  state: string;
  record: { id: string; status: string; from: string; to: string; backupId: string | null };
}

let sb: TestSandbox;
let alpha: SandboxMastodon;

/** The instance API as a visitor asks it: by the instance's name (nginx passes that Host on). */
async function publicInstance(): Promise<{ status: number; version?: string; cache: string | null }> {
  const r = await httpGet(`${alpha.publicUrl}/api/v2/instance`, { host: proxyHeaders(alpha.root).host });
  const cache = (r.headers['x-cached'] as string | undefined) ?? null;
  if (r.status !== 200) return { status: r.status, cache };
  return { status: r.status, version: (JSON.parse(r.body) as { version: string }).version, cache };
}

beforeAll(async () => {
  sb = await startSandbox();
  setHealthTimeout(sb, '6s');
  alpha = new SandboxMastodon(sb, 'alpha');
});

afterAll(async () => {
  await sb?.down();
});

describe('verification behind a caching nginx', () => {
  it('the public URL is an nginx that caches the instance API', async () => {
    expect(alpha.publicUrl).not.toBe(alpha.webUrl);
    await publicInstance();
    expect(await publicInstance()).toEqual({ status: 200, version: '4.4.7', cache: 'HIT' });
  });

  it('a good upgrade succeeds although nginx still serves the old version (exit 0)', async () => {
    const r = await sb.run(['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--yes', '--no-check']);
    expect(r.code, r.stderr).toBe(0);
    const doc = json<ChangeDoc>(r);
    expect(doc.record).toMatchObject({ status: 'succeeded', from: '4.4.7', to: '4.4.8' });
    const verification = alpha.record(doc.record.id).details.verification;
    expect(verification).toMatchObject({ ok: true, reportedVersion: '4.4.8' });
    // health.federation: WebFinger of admin@alpha.sandbox and its actor, through nginx
    expect((verification as { checks: unknown[] }).checks).toContainEqual({
      id: 'federation',
      ok: true,
      message: 'admin@alpha.sandbox: WebFinger → actor https://alpha.sandbox/users/admin (application/activity+json)',
    });
    expect(await alpha.running()).toEqual({ version: '4.4.8', healthy: true });
    // what a visitor sees for a few minutes yet: the copy nginx keeps
    expect(await publicInstance()).toEqual({ status: 200, version: '4.4.7', cache: 'HIT' });
  });

  it('a failed upgrade is reported as what failed on the host, and restored (exit 1, rolled-back)', async () => {
    const r = await upgradeToBrokenRelease(alpha, '4.5.0');
    expect(r.exitCode, String(r.stderr)).toBe(1);
    const doc = json<ChangeDoc>({ code: 1, stdout: String(r.stdout), stderr: '' });
    expect(doc.record).toMatchObject({ status: 'rolled-back', from: '4.4.8', to: '4.5.0' });
    expect(doc.state).toMatch(/^restored: mastodon\/alpha runs 4\.4\.8 again, verified healthy/);
    const rec = alpha.record(doc.record.id);
    // 4.5.0 did run: the health check failed, not the version (nginx still had 4.4.7)
    expect(rec.details.verification).toMatchObject({ ok: false, reportedVersion: '4.5.0' });
    expect(rec.details.failure).toMatch(/\/health: HTTP 503/);
    expect(rec.details.failure).not.toMatch(/expected 4\.5\.0/);
    expect(rec.details.recoveryVerification).toMatchObject({ ok: true, reportedVersion: '4.4.8' });
    expect(await alpha.running()).toEqual({ version: '4.4.8', healthy: true });
  });

  it('backup restore --into alpha works while the app is down, with the version its deployment names', async () => {
    const failed = alpha.records().find((x) => x.to === '4.5.0' && x.status === 'rolled-back');
    const backupId = failed?.backupId;
    expect(backupId).toBeTruthy();
    alpha.stopApp();
    await expect(alpha.running()).rejects.toThrow();
    // nginx answers for the dead app with its copy
    expect((await publicInstance()).status).toBe(200);

    const r = await sb.run(['backup', 'restore', backupId!, '--into', 'alpha', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/mastodon\/alpha does not answer \(.*\): taking 4\.4\.8 from its deployment on alpha/);
    expect(r.stdout).toContain('mastodon/alpha runs 4.4.8, verified healthy');
    expect(await alpha.running()).toEqual({ version: '4.4.8', healthy: true });
  });

  it('rollback works while the app is down, from the version its deployment names (exit 0)', async () => {
    alpha.stopApp();
    const r = await sb.run(['rollback', 'mastodon', '--env', 'alpha', '--keep-db', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Plan: roll back mastodon/alpha on alpha: 4.4.8 → 4.4.7');
    expect(r.stdout).toMatch(/mastodon\/alpha does not answer \(.*\): taking 4\.4\.8 from its deployment on alpha/);
    expect(await alpha.running()).toEqual({ version: '4.4.7', healthy: true });
  });

  it('an upgrade whose actor is served as HTML fails verification on federation and is restored (exit 1)', async () => {
    // federation-fails: /users/admin answers its HTML page whatever the Accept header says (mastodonWeb.ts actor)
    const args = ['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--yes', '--no-check'];
    const r = await changeWhileUnhealthy(alpha, args, (x) => x.to === '4.4.8', 'federation-fails');
    expect(r.exitCode, String(r.stderr)).toBe(1);
    const doc = json<ChangeDoc>({ code: 1, stdout: String(r.stdout), stderr: '' });
    expect(doc.record).toMatchObject({ status: 'rolled-back', from: '4.4.7', to: '4.4.8' });
    const rec = alpha.record(doc.record.id);
    // everything else held: 4.4.8 ran, healthy; only federation failed
    expect(rec.details.verification).toMatchObject({ ok: false, reportedVersion: '4.4.8' });
    expect(rec.details.failure).toContain(
      'admin@alpha.sandbox: actor https://alpha.sandbox/users/admin: served as text/html; charset=utf-8, ' +
        'not application/activity+json',
    );
    expect(rec.details.failure).not.toMatch(/\/health: HTTP/);
    expect(rec.details.recoveryVerification).toMatchObject({ ok: true, reportedVersion: '4.4.7' });
    expect(await alpha.running()).toEqual({ version: '4.4.7', healthy: true });
  });
});
