import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { coopctl, fixtureCopy } from '../monitoring/cli.js';

/** `schedule install` on the monitoring tests' sandbox-like config, with a `schedule:` block added. */
async function install(schedule: string, extra: string[] = []) {
  const dir = fixtureCopy((t) => `${t}schedule:\n${schedule}`);
  return coopctl(['-c', path.join(dir, 'coopctl.yaml'), ...extra, 'schedule', 'install']);
}

describe('schedule install, before anything runs', () => {
  it('--dry-run: a timer pair per service × environment with a database, each with its calendar', async () => {
    const r = await install('  inventory: inventory.yml\n  host: alpha\n', ['--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    // mastodon's database comes from its profile; bonfire's from database:; wiki has none
    for (const t of ['mastodon-alpha', 'mastodon-prod', 'bonfire-prod']) {
      expect(r.stderr).toContain(`coopctl-backup-${t}.timer: *-*-* 03:15:00`);
      expect(r.stderr).toContain(`coopctl-restore-test-${t}.timer: Sun *-*-* 05:00:00`);
    }
    expect(r.stderr).not.toContain('wiki');
    expect(r.stderr).toMatch(/backups \*-\*-\* 03:15:00 \(every 24h0m at most\)/);
  });

  it('a target that is not a SERVICE/ENV of services: is bad input at its line (exit 2)', async () => {
    const r = await install('  inventory: inventory.yml\n  host: alpha\n  targets: [mastodon/staging]\n', [
      '--dry-run',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/coopctl\.yaml:\d+ schedule\.targets\[0\]: "mastodon\/staging" is not a SERVICE\/ENV/);
  });

  it('an unknown schedule host is bad input naming schedule.host (exit 2)', async () => {
    const r = await install('  inventory: inventory.yml\n  host: nowhere\n', ['--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/schedule\.host: no host "nowhere" in inventory\.yml/);
  });
});
