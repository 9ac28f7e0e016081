import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { json } from '../helpers/cli.js';
import {
  type ChangeDoc,
  changeWhileUnhealthy,
  SandboxMastodon,
  useMastodonSandbox,
} from '../helpers/upgradeSandbox.js';

/**
 * `coopctl promote`, `reject`/`unreject` and `--summary FILE` on the sandbox: alpha is upgraded to 4.4.8, then what
 * alpha verified goes to prod (refused first for every reason it must be, one failing on prod's verification), and
 * the wiki goes from wiki-alpha to wiki. The tests build on each other.
 */
const W2 = '1.1.1+1.42.3';

const world = useMastodonSandbox();
let prod: SandboxMastodon;
let alphaUpgrade: ChangeDoc['record'];

const promote = (...extra: string[]) => world.sb.run(['promote', 'mastodon', '--yes', ...extra]);

/** A promotion refused: exit 3, the reason said, nothing on prod changed (version, records, lock, files). */
async function refused(args: string[], reason: RegExp): Promise<void> {
  prod ??= new SandboxMastodon(world.sb, 'prod');
  const before = prod.footprint();
  const running = await prod.running();
  const r = await promote(...args);
  expect(r.code, r.stderr).toBe(3);
  expect(r.stderr).toMatch(reason);
  expect(prod.footprint()).toEqual(before);
  expect(await prod.running()).toEqual(running);
  expect(prod.lockInfo()).toBeUndefined();
}

async function versionOf(service: string, env: string): Promise<string | null> {
  const doc = json<{ services: Array<{ version: string | null }> }>(
    await world.sb.run(['--json', 'status', service, '--env', env]),
  );
  return doc.services[0].version;
}

/** The sandbox's config with prod listing alpha's patches too (as the operators would once alpha proved them). */
function prodPatched(): string {
  const doc = parseDocument(readFileSync(world.sb.config, 'utf8'));
  const patches = doc.getIn(['services', 'mastodon', 'environments', 'alpha', 'patches']);
  doc.setIn(['services', 'mastodon', 'environments', 'prod', 'patches'], patches);
  const variant = path.join(world.sb.dir, 'prod-patched.yaml');
  writeFileSync(variant, doc.toString());
  return variant;
}

/** What /api/v2/instance says on the host's web process (the post-length patch makes it 2000). */
async function maxChars(host: SandboxMastodon): Promise<number> {
  return (await host.instance()).configuration.statuses.max_characters;
}

describe('coopctl promote mastodon (alpha → prod)', () => {
  it('bad input names the flag and runs nothing: no chain, envs outside it or not adjacent, a bad --summary', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['promote', 'bonfire'], /bonfire has no promotion chain/],
      [['promote', 'mastodon', '--to', 'staging'], /--to: staging is not in the promotion chain/],
      [['promote', 'mastodon', '--from', 'prod'], /--from: prod does not come right before prod/],
      [['promote', 'mastodon', '--soak', 'soon'], /--soak: "soon" is not a duration/],
      [['promote', 'mastodon', '--summary', '/nonexistent/mr.md'], /--summary: \/nonexistent is not an existing/],
    ];
    for (const [args, message] of cases) {
      const r = await world.sb.run(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('refused without a succeeded change on alpha', async () => {
    await refused(['--soak', '0'], /mastodon\/alpha has no succeeded change in its history/);
  });

  it('alpha upgraded to 4.4.8; refused inside the soak time (default 24h)', async () => {
    const r = await world.sb.run(['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    alphaUpgrade = json<ChangeDoc>(r).record;
    await refused([], /has run 4\.4\.8 for .*; the soak time is 24h/);
  });

  it('reject: shown in versions, refuses the picker --to and promote; unreject lifts it', async () => {
    const noReason = await world.sb.run(['reject', 'mastodon', '4.4.8']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason');
    const rej = await world.sb.run(['reject', 'mastodon', '4.4.8', '--reason', 'breaks the relay']);
    expect(rej.code, rej.stderr).toBe(0);
    expect(rej.stdout).toMatch(/recorded on alpha .*prod /);

    type Versions = { versions: Array<{ version: string; rejected: boolean; rejection?: string }> };
    const listed = json<Versions>(await world.sb.run(['--json', 'versions', 'mastodon', '--env', 'prod']));
    expect(listed.versions.find((v) => v.version === '4.4.8')).toMatchObject({ rejected: true });
    expect(listed.versions.find((v) => v.version === '4.4.8')?.rejection).toContain('breaks the relay');
    expect(listed.versions.find((v) => v.version === '4.4.7')).toMatchObject({ rejected: false });
    const table = await world.sb.run(['versions', 'mastodon']);
    expect(table.stdout).toMatch(/4\.4\.8 .*rejected by .*: breaks the relay/);

    const status = json<{ services: Array<{ env: string; rejected: string | null }> }>(
      await world.sb.run(['--json', 'status', 'mastodon']),
    );
    expect(status.services.find((s) => s.env === 'alpha')?.rejected).toContain('breaks the relay');
    expect(status.services.find((s) => s.env === 'prod')?.rejected).toBeNull();

    prod = new SandboxMastodon(world.sb, 'prod');
    const before = prod.footprint();
    const up = await world.sb.run(['upgrade', 'mastodon', '--env', 'prod', '--to', '4.4.8', '--yes', '--no-check']);
    expect(up.code, up.stderr).toBe(3);
    expect(up.stderr).toContain('breaks the relay');
    expect(prod.footprint()).toEqual(before);

    await refused(['--soak', '0'], /4\.4\.8 is rejected by .*: breaks the relay/);

    const un = await world.sb.run(['unreject', 'mastodon', '4.4.8', '--reason', 'relay fixed']);
    expect(un.code, un.stderr).toBe(0);
    const again = json<Versions>(await world.sb.run(['--json', 'versions', 'mastodon', '--env', 'prod']));
    expect(again.versions.find((v) => v.version === '4.4.8')).toMatchObject({ rejected: false });
  });

  it("refused while alpha's health fails now", async () => {
    await world.sb.fault('alpha', 'health-fails');
    try {
      await refused(['--soak', '0'], /mastodon\/alpha is not healthy now/);
    } finally {
      await world.sb.fault('--clear', 'alpha');
    }
  });

  it("a failing verification on prod restores prod's 4.4.7; alpha is left as it was", async () => {
    const alpha = world.alpha;
    const alphaBefore = alpha.footprint();
    const r = await changeWhileUnhealthy(prod, ['--json', 'promote', 'mastodon', '--soak', '0', '--yes']);
    expect(r.exitCode, r.stderr).toBe(1);
    const doc = json<ChangeDoc>({ code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) });
    expect(doc.record).toMatchObject({ operation: 'promote', status: 'rolled-back', promotedFrom: alphaUpgrade.id });
    expect(await prod.running()).toEqual({ version: '4.4.7', healthy: true });
    expect(prod.lockInfo()).toBeUndefined();
    expect(alpha.footprint()).toEqual(alphaBefore);
    expect(alpha.lockInfo()).toBeUndefined();
  });

  it('--dry-run -v reads each fact once: one history read per host, one version read per environment', async () => {
    const r = await world.sb.run(['-v', '--dry-run', 'promote', 'mastodon', '--soak', '0']);
    expect(r.code, r.stderr).toBe(0);
    // -v prints each command it runs: `$ HOST: ARGV` on a host, `$ ARGV` here
    const commands = r.stderr.split('\n').filter((l) => /^\s*\$ /.test(l));
    const count = (re: RegExp) => commands.filter((l) => re.test(l)).length;
    for (const host of ['alpha', 'prod']) {
      expect(count(new RegExp(`^\\s*\\$ ${host}: .*coopctl-history`)), host).toBe(1);
      expect(count(new RegExp(`^\\s*\\$ ${host}: .*/api/v2/instance`)), host).toBe(1);
    }
    expect(count(/^\s*\$ git ls-remote /)).toBe(1);
    expect(commands.filter((l, i) => commands.indexOf(l) !== i)).toEqual([]);
    expect(r.stdout).toContain('--dry-run: stopping after the plan; nothing was changed.');
  });

  it("--soak 0: prod runs alpha's exact version and patch set (when its config lists the patch too: the plan says so)", async () => {
    // the sandbox's config patches alpha only: a promotion gives prod its own (none), and the plan says so
    const plain = await world.sb.run(['--json', '--dry-run', 'promote', 'mastodon', '--soak', '0']);
    expect(plain.code, plain.stderr).toBe(0);
    const findings = json<{ plan: { findings: Array<{ id: string; message: string }> } }>(plain).plan.findings;
    expect(findings.find((f) => f.id === 'promoted-patches')?.message).toMatch(
      /alpha runs patch set [0-9a-f]{64}; prod's config gives none: prod gets its own/,
    );
    expect(await maxChars(prod)).toBe(500);

    const file = path.join(world.sb.dir, 'promote-summary.md');
    const r = await world.sb.run([
      '-c',
      prodPatched(),
      '--json',
      'promote',
      'mastodon',
      '--soak',
      '0',
      '--yes',
      '--summary',
      file,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = json<ChangeDoc>(r);
    expect(doc.record).toMatchObject({
      operation: 'promote',
      status: 'succeeded',
      from: '4.4.7',
      to: '4.4.8',
      promotedFrom: alphaUpgrade.id,
    });
    expect(prod.record(doc.record.id)).toMatchObject({ promotedFrom: alphaUpgrade.id, status: 'succeeded' });
    expect(prod.record(doc.record.id).details.promotion).toMatchObject({ from: 'alpha', soakMs: 0 });
    expect(await prod.running()).toEqual({ version: '4.4.8', healthy: true });
    const alphaSet = new SandboxMastodon(world.sb, 'alpha').record(alphaUpgrade.id).details.patchSet as {
      digest: string;
    };
    expect(alphaSet.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(prod.record(doc.record.id).details.patchSet).toMatchObject({ digest: alphaSet.digest });
    expect(await maxChars(prod)).toBe(2000);

    expect(statSync(file).mode & 0o777).toBe(0o600);
    const md = readFileSync(file, 'utf8');
    expect(md).toContain('### coopctl promote mastodon/prod: 4.4.7 → 4.4.8 — succeeded');
    expect(md).toContain('[4.4.8](https://github.com/mastodon/mastodon/releases/tag/v4.4.8)');
    expect(md).toMatch(/- checks: .*✓ disk/);
    expect(doc.record.backupId).toBeTruthy();
    expect(md).toContain(`safety backup: \`${doc.record.backupId}\``);
    expect(md).toMatch(/verification: healthy/);
    expect(md).toContain(`record \`${alphaUpgrade.id}\``);
    expect(md).toMatch(/operator \S+/);
  });

  it('refused when prod already runs it', async () => {
    await refused(['-c', prodPatched(), '--soak', '0'], /mastodon\/prod already runs 4\.4\.8 with patch set/);
  });

  it('--summary is written on a failed ending too (upgrade)', async () => {
    const file = path.join(world.sb.dir, 'failed-summary.md');
    await world.sb.fault('alpha', 'migration-fails');
    try {
      const r = await world.sb.run([
        'upgrade',
        'mastodon',
        '--env',
        'alpha',
        '--to',
        '4.5.0',
        '--yes',
        '--summary',
        file,
      ]);
      expect(r.code).toBe(1);
    } finally {
      await world.sb.fault('--clear', 'alpha');
    }
    expect(readFileSync(file, 'utf8')).toMatch(/### coopctl upgrade mastodon\/alpha: 4\.4\.8 → 4\.5\.0 — rolled-back/);
  });

  it('rollback and backup restore --into ENV write --summary too', async () => {
    const rolled = path.join(world.sb.dir, 'rollback-summary.md');
    const rb = await world.sb.run([
      'rollback',
      'mastodon',
      '--env',
      'prod',
      '--restore-db',
      '--yes',
      '--summary',
      rolled,
    ]);
    expect(rb.code, rb.stderr).toBe(0);
    const rbText = readFileSync(rolled, 'utf8');
    expect(rbText).toMatch(/### coopctl rollback mastodon\/prod: 4\.4\.8 → 4\.4\.7 — succeeded/);
    expect(rbText).toMatch(/safety backup: `[^`]+`/);

    const restored = path.join(world.sb.dir, 'restore-summary.md');
    const backup = alphaUpgrade.backupId!;
    const rs = await world.sb.run(['backup', 'restore', backup, '--into', 'alpha', '--yes', '--summary', restored]);
    expect(rs.code, rs.stderr).toBe(0);
    expect(statSync(restored).mode & 0o777).toBe(0o600);
    expect(readFileSync(restored, 'utf8')).toMatch(
      /### coopctl restore mastodon\/alpha: 4\.4\.8 → 4\.4\.8 — succeeded/,
    );

    const scratch = await world.sb.run(['backup', 'restore', backup, '--into', 'scratch', '--summary', restored]);
    expect(scratch.code).toBe(2);
    expect(scratch.stderr).toContain('--summary: only with --into ENV');
  });
});

describe('coopctl promote wiki (wiki-alpha → wiki)', () => {
  it('wiki-alpha upgraded, then promoted: the production wiki runs the same recipe release', async () => {
    const up = await world.sb.run(['upgrade', 'wiki', '--env', 'alpha', '--to', W2, '--yes']);
    expect(up.code, up.stderr).toBe(0);
    // production's wiki is a chaos deploy of the co-op's fork: promoting a release over it drops its commits
    const r = await world.sb.run(['--json', 'promote', 'wiki', '--soak', '0', '--yes', '--from-chaos']);
    expect(r.code, r.stderr).toBe(0);
    expect(json<ChangeDoc>(r).record).toMatchObject({ operation: 'promote', status: 'succeeded', to: W2 });
    expect(await versionOf('wiki', 'prod')).toBe(W2);
    expect(await versionOf('wiki', 'alpha')).toBe(W2);
  });
});
