import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appSql } from '../helpers/appSql.js';
import { json, type CliResult } from '../helpers/cli.js';
import {
  appEnvFile,
  configVariant as sharedConfigVariant,
  type ConfigDoc,
  sshToHost,
  startSandbox,
  type TestSandbox,
  replacedTasksGone,
} from '../helpers/sandbox.js';
import { startCli, stderrSoFar, waitFor } from '../helpers/upgradeSandbox.js';
import { deployBackupBot, serversUpstream, setCoopCloudFault } from '../world/coopcloud/server.js';
import { sandboxLayout } from '../world/layout.js';

/**
 * Co-op Cloud apps through the one pipeline, on the sandbox's hypha: the abra double with real recipe clones, a
 * swarm `docker` over real SSH, each app's database a real server (Bonfire's PostgreSQL, the others' MariaDB). The tests build on each other: bonfire goes
 * 1.0.0 → (2.0.1 fails, rolled back) → 2.0.0 (abra's converge check gives up, the swarm settles) → 2.0.1.
 */
const B1 = '1.0.0+1.0.5-social-amd64';
const B2 = '2.0.0+1.0.5-social-amd64';
const B3 = '2.0.1+1.0.6-social-amd64';
const W2 = '1.1.1+1.42.3';
const BACKUP_BOT = 'backups.sandbox';

interface UpgradeDoc {
  ok: boolean;
  state: string;
  record: { id: string; status: string; from: string; to: string; backupId: string | null };
}
interface PlanDoc {
  plan: { notes: Array<{ version: string }>; findings: Array<{ id: string; level: string; message: string }> };
}
interface HistoryDoc {
  records: Array<{ id: string; service: string; env: string; status: string; from: string; to: string }>;
}

let sb: TestSandbox;
let bonfireEnv: string;

beforeAll(async () => {
  sb = await startSandbox();
  bonfireEnv = appEnvFile(sb.dir, 'bonfire.sandbox');
  // A failing verification gives up after the recipe's timeout label, which the app's env may lower (300s default).
  writeFileSync(bonfireEnv, `${readFileSync(bonfireEnv, 'utf8')}\nTIMEOUT=8\n`);
}, 600_000);

afterAll(async () => {
  await sb?.down();
});

/** SQL in an app's database, through hypha's sshd and the swarm's `docker exec`, as an operator would run it. */
const sql = (stack: string, db: string, query: string) => appSql(sb.dir, stack, db, query);
const migrations = () => Number(sql('bonfire_sandbox', 'bonfire_db', 'SELECT count(*) FROM schema_migrations'));
const posts = () =>
  Number(sql('bonfire_sandbox', 'bonfire_db', 'SELECT count(*) FROM bonfire_data_social_post_content'));

const serversDir = () => path.dirname(bonfireEnv);
const upstream = () => serversUpstream(sandboxLayout(sb.dir).abraDir, path.basename(serversDir()));
const gitOut = (dir: string, args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
const gitLog = (dir: string, file: string) => gitOut(dir, ['log', '--format=%s', '--', file]);
const gitShow = (dir: string, spec: string) => gitOut(dir, ['show', spec]);

async function version(service: string, env: string): Promise<string | null> {
  const doc = json<{ services: Array<{ version: string | null }> }>(
    await sb.run(['--json', 'status', service, '--env', env]),
  );
  return doc.services[0].version;
}

async function history(service: string): Promise<HistoryDoc['records']> {
  return json<HistoryDoc>(await sb.run(['--json', 'history', service])).records;
}

const upgrade = (to: string, ...extra: string[]) =>
  sb.run(['--json', 'upgrade', 'bonfire', '--env', 'prod', '--to', to, '--yes', ...extra]);

const configVariant = (name: string, edit: (doc: ConfigDoc) => void) => sharedConfigVariant(sb.dir, name, edit);

describe('coopctl upgrade of a Co-op Cloud app', () => {
  it('plans 1.0.0 → 2.0.1 with the release notes of both versions in between', async () => {
    const r = await sb.run(['--json', '--dry-run', 'upgrade', 'bonfire', '--env', 'prod', '--to', B3, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const doc = json<PlanDoc>(r);
    expect(doc.plan.notes.map((n) => n.version)).toEqual([B3, B2]);
    const text = await sb.run(['--dry-run', 'upgrade', 'bonfire', '--env', 'prod', '--to', B3, '--yes']);
    expect(text.stdout).toContain('Mailisearch search backend was removed');
    expect(text.stdout).toContain(`## ${B3}`);
    expect(text.stdout).toContain('Safety copy on hypha');
  });

  it('refuses a version that is not newer (exit 3) and one the recipe does not have (exit 2)', async () => {
    const r = await sb.run(['upgrade', 'bonfire', '--env', 'prod', '--to', '0.9.0+1.0.4', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('0.9.0+1.0.4 is not a release of recipe bonfire');
    const same = await sb.run(['upgrade', 'bonfire', '--env', 'prod', '--to', B1, '--yes']);
    expect(same.code).toBe(3);
    expect(same.stderr).toContain(`${B1} is not newer than ${B1}`);
    expect(await version('bonfire', 'prod')).toBe(B1);
  });

  it('abra-upgrade-fails: the new task fails, abra app rollback brings 1.0.0 back with the database of before', async () => {
    const before = { migrations: migrations(), posts: posts() };
    await sb.fault('bonfire', 'abra-upgrade-fails');
    try {
      const r = await upgrade(B3);
      expect(r.code, r.stderr).toBe(1);
      const doc = json<UpgradeDoc>(r);
      expect(doc.record.status).toBe('rolled-back');
      expect(doc.state).toContain(`runs ${B1} again, verified healthy`);
      expect(doc.state).toContain('database restored from');
    } finally {
      await sb.fault('--clear', 'bonfire');
    }
    expect(await version('bonfire', 'prod')).toBe(B1);
    // 2.0.1's task migrated on boot after its health had failed; once it is gone, the database is the one of before
    await replacedTasksGone(sb.dir, 'bonfire_sandbox');
    expect({ migrations: migrations(), posts: posts() }).toEqual(before);
    const [last] = await history('bonfire');
    expect(last).toMatchObject({ service: 'bonfire', env: 'prod', status: 'rolled-back', from: B1, to: B3 });
  }, 240_000);

  it('swarm-rolls-back: swarm put the label back itself, but the failed task migrated: the ledger decides, restored', async () => {
    const before = { migrations: migrations(), posts: posts() };
    await sb.fault('bonfire', 'swarm-rolls-back');
    try {
      const r = await upgrade(B3);
      expect(r.code, r.stderr).toBe(1);
      const doc = json<UpgradeDoc>(r);
      expect(doc.record.status).toBe('rolled-back');
      expect(doc.state).toContain('database restored from');
    } finally {
      await sb.fault('--clear', 'bonfire');
    }
    expect(await version('bonfire', 'prod')).toBe(B1);
    await replacedTasksGone(sb.dir, 'bonfire_sandbox');
    expect({ migrations: migrations(), posts: posts() }).toEqual(before);
  }, 240_000);

  it("converge-timeout: abra says the deploy failed, the swarm settles, coopctl's own checks verify it", async () => {
    await sb.fault('bonfire', 'converge-timeout');
    try {
      const r = await upgrade(B2);
      expect(r.code, r.stderr).toBe(0);
      const doc = json<UpgradeDoc>(r);
      expect(doc.record.status).toBe('succeeded');
      const text = JSON.stringify(doc);
      expect(text).toContain('deploy failed');
      expect(text).toContain("coopctl's verification decides");
    } finally {
      await sb.fault('--clear', 'bonfire');
    }
    expect(await version('bonfire', 'prod')).toBe(B2);
  }, 240_000);

  it('upgrades to 2.0.1, the pin abra wrote committed in the servers repository; then nothing newer: exit 0', async () => {
    const r = await upgrade(B3);
    expect(r.code, r.stderr).toBe(0);
    const { record } = json<UpgradeDoc>(r);
    expect(record.status).toBe('succeeded');
    expect(await version('bonfire', 'prod')).toBe(B3);
    // committed with the record id, so the next operator's bare `abra app deploy` does not go back; not pushed
    expect(gitLog(serversDir(), 'bonfire.sandbox.env')).toContain(`(record ${record.id})`);
    expect(gitShow(serversDir(), 'HEAD:bonfire.sandbox.env')).toContain(`TYPE=bonfire:${B3}`);
    expect(gitLog(upstream(), 'bonfire.sandbox.env')).not.toContain(record.id);
    const again = await sb.run(['upgrade', 'bonfire', '--env', 'prod', '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`bonfire/prod is up to date: it runs ${B3}`);
  }, 240_000);

  it('a concurrent operation on the same app: exit 4, nothing changed', async () => {
    const held = await sb.run(['lock', 'acquire', 'bonfire', '--env', 'prod', '-m', 'restoring by hand']);
    expect(held.code, held.stderr).toBe(0);
    try {
      const r = await sb.run(['rollback', 'bonfire', '--env', 'prod', '--keep-db', '--yes']);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toContain('restoring by hand');
    } finally {
      await sb.run(['lock', 'release', 'bonfire', '--env', 'prod']);
    }
    expect(await version('bonfire', 'prod')).toBe(B3);
  });

  it('two upgrades of one app at once: the second finds the lock of the first (exit 4); the first succeeds', async () => {
    await sb.fault('wiki-alpha', 'slow');
    try {
      const args = ['upgrade', 'wiki', '--env', 'alpha', '--to', W2, '--yes'];
      const first = startCli(sb, args);
      const progress = stderrSoFar(first);
      await waitFor('the first run to hold the lock', () =>
        progress().includes('Take the lock of wiki/alpha on hypha:'),
      );
      const second = await sb.run(args);
      expect(second.code, second.stderr).toBe(4);
      expect(second.stderr).toMatch(/wiki\/alpha .*locked|lock/i);
      const r = await first;
      expect(r.exitCode, r.stderr).toBe(0);
    } finally {
      await sb.fault('--clear', 'wiki-alpha');
    }
    expect(await version('wiki', 'alpha')).toBe(W2);
  }, 240_000);

  it('rolls back to the version of before, keeping the database (--keep-db); abra.push: the pin is pushed', async () => {
    const config = configVariant('push.yaml', (doc) => {
      (doc as unknown as { abra: Record<string, unknown> }).abra.push = true;
    });
    const r = await sb.run(['-c', config, '--json', 'rollback', 'bonfire', '--env', 'prod', '--keep-db', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(await version('bonfire', 'prod')).toBe(B2);
    const [last] = await history('bonfire');
    expect(last).toMatchObject({ status: 'succeeded', from: B3, to: B2 });
    expect(gitLog(upstream(), 'bonfire.sandbox.env')).toContain(`(record ${last.id})`);
    expect(gitShow(upstream(), 'main:bonfire.sandbox.env')).toContain(`TYPE=bonfire:${B2}`);
  }, 240_000);
});

describe('backups of Co-op Cloud apps', () => {
  it('preflight proves a backup is possible: pg_dump in the database service, or backupbot labels', async () => {
    const ok = await sb.run(['--json', 'preflight', 'bonfire', '--env', 'prod']);
    expect(ok.code, ok.stderr).toBe(0);
    const check = (r: CliResult) =>
      json<{ checks: Array<{ id: string; status: string; message: string }> }>(r).checks.find(
        (c) => c.id === 'app-backup',
      )!;
    expect(check(ok)).toMatchObject({ status: 'pass', message: expect.stringContaining('in bonfire_sandbox_db') });
    const down = sshToHost(sb.dir, 'hypha', 'docker service scale bonfire_sandbox_db=0 --detach');
    expect(down.code, down.stderr).toBe(0);
    try {
      const r = await sb.run(['--json', 'preflight', 'bonfire', '--env', 'prod']);
      expect(r.code).toBe(3);
      expect(check(r)).toMatchObject({
        status: 'fail',
        message: expect.stringContaining('no running container of swarm service bonfire_sandbox_db'),
      });
    } finally {
      sshToHost(sb.dir, 'hypha', 'docker service scale bonfire_sandbox_db=1 --detach');
    }
  });

  it("abra's backup with the empty-dump trap fails the safety backup before the upgrade: exit 1, nothing changed", async () => {
    // without `database:`, bonfire is backed up by abra (backupbot), whose dump is empty in this sandbox; abra's
    // backups run in backup-bot-two, which hypha lacks: this test deploys it
    const config = configVariant('abra-backups.yaml', (doc) => {
      delete doc.services.bonfire.database;
      delete doc.services.wiki.database;
    });
    const hypha = sandboxLayout(sb.dir).host('hypha');
    deployBackupBot(hypha, BACKUP_BOT);
    try {
      await sb.fault('bonfire', 'backup-empty-dump');
      const before = await version('bonfire', 'prod');
      const r = await sb.run(['-c', config, 'upgrade', 'bonfire', '--env', 'prod', '--to', B3, '--yes']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/snapshot [0-9a-f]{8,} of bonfire\.sandbox is not a backup: .*backup\.sql is empty/);
      expect(await version('bonfire', 'prod')).toBe(before);
      const [last] = await history('bonfire');
      expect(last.status).toBe('failed');

      // a recipe whose backup works: the snapshot's dump is downloaded and read back, complete
      const wiki = await sb.run(['-c', config, 'backup', 'create', 'wiki', '--env', 'prod']);
      expect(wiki.code, wiki.stderr).toBe(0);
      expect(wiki.stdout).toMatch(
        /^[0-9a-f]{8}\s+wiki\/prod\s+\S+\s+restic snapshot [0-9a-f]{64}: 1 dump\(s\), [\d.]+ \w+ read back, complete/,
      );
      const snapshot = wiki.stdout.split(/\s/)[0];
      const listed = await sb.run(['-c', config, 'backup', 'list', 'wiki', '--env', 'prod']);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(new RegExp(`^${snapshot}\\s+wiki\\s+prod\\s`, 'm'));
    } finally {
      deployBackupBot(hypha, BACKUP_BOT, false);
    }
  }, 240_000);

  it("abra's snapshot as safety net: a failed upgrade restores it (coopctl types YES), as it was before", async () => {
    const config = configVariant('abra-backups.yaml', (doc) => {
      delete doc.services.bonfire.database;
    });
    const hypha = sandboxLayout(sb.dir).host('hypha');
    deployBackupBot(hypha, BACKUP_BOT);
    const before = { version: await version('bonfire', 'prod'), migrations: migrations(), posts: posts() };
    // the sandbox's bonfire starts with an empty abra dump (users.md): here its pre-hook works
    setCoopCloudFault(hypha, 'bonfire.sandbox', 'backup-empty-dump', false);
    await sb.fault('bonfire', 'abra-upgrade-fails');
    try {
      const r = await sb.run(['-c', config, '--json', 'upgrade', 'bonfire', '--env', 'prod', '--to', B3, '--yes']);
      expect(r.code, r.stderr).toBe(1);
      const doc = json<UpgradeDoc>(r);
      expect(doc.record.status, JSON.stringify(doc.record)).toBe('rolled-back');
      expect(doc.state).toMatch(/database restored from [0-9a-f]{8}/);
    } finally {
      await sb.fault('--clear', 'bonfire');
      setCoopCloudFault(hypha, 'bonfire.sandbox', 'backup-empty-dump', true);
      deployBackupBot(hypha, BACKUP_BOT, false);
    }
    await replacedTasksGone(sb.dir, 'bonfire_sandbox');
    // backup-bot-two's restore post-hook loaded the dump coopctl read back: the rows and migrations of before
    expect({ version: await version('bonfire', 'prod'), migrations: migrations(), posts: posts() }).toEqual(before);
  }, 240_000);

  it('the production wiki backup restored into wiki-alpha, which answers with the production pages', async () => {
    const prodPages = sql('wiki_sandbox', 'mediawiki', 'SELECT group_concat(page_title ORDER BY page_id) FROM page');
    const alphaPages = sql(
      'wiki-alpha_sandbox',
      'mediawiki',
      'SELECT group_concat(page_title ORDER BY page_id) FROM page',
    );
    expect(alphaPages).not.toBe(prodPages);
    const created = await sb.run(['--json', 'backup', 'create', 'wiki', '--env', 'prod']);
    expect(created.code, created.stderr).toBe(0);
    const id = json<{ id: string }>(created).id;
    const r = await sb.run(['--json', 'backup', 'restore', id, '--into', 'alpha', '--from-other-env', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(json<UpgradeDoc>(r).record.status).toBe('succeeded');
    expect(sql('wiki-alpha_sandbox', 'mediawiki', 'SELECT group_concat(page_title ORDER BY page_id) FROM page')).toBe(
      prodPages,
    );
    expect(sql('wiki_sandbox', 'mediawiki', 'SELECT group_concat(page_title ORDER BY page_id) FROM page')).toBe(
      prodPages,
    );
  }, 240_000);

  it("without backup.restoreTest, the SSO's backup is restore-tested on its own host, in a throw-away server", async () => {
    // on MariaDB the test runs in a throw-away server; with backup.restoreTest on that host (coopcloud-mariadb.test.ts)
    const config = configVariant('no-restore-host.yaml', (doc) => {
      delete (doc as unknown as { backup: Record<string, unknown> }).backup.restoreTest;
    });
    const created = await sb.run(['--json', 'backup', 'create', 'auth', '--env', 'prod']);
    expect(created.code, created.stderr).toBe(0);
    const id = json<{ id: string }>(created).id;
    const r = await sb.run(['-c', config, 'backup', 'verify', id, '--restore']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`${id}: restored on hypha into coopctl_scratch_\\w+ and dropped; row counts match`),
    );
    // Keycloak's users per realm, restored against live (src/services/coopcloud/keycloakUsers.ts)
    expect(r.stdout).toMatch(
      /\n {2}realm master: 1 user restored, 1 live\n {2}realm social\.coop: [1-9]\d* users restored, [1-9]\d* live$/,
    );
    expect(
      sql(
        'auth_sandbox',
        'keycloak',
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'coopctl_scratch%'",
      ),
    ).toBe('0');
  }, 240_000);
});

describe('a chaos deploy: the wiki, from a fork of the recipe with commits of its own', () => {
  const WIKI_FORK = ['log in through auth.social.coop', 'keep the local login for the admins'];
  interface ChaosRecord {
    id: string;
    status: string;
    from: string;
    to: string;
    details: { fromChaos?: { label: string; commit: string; dropped: string[] | null } };
  }
  const wikiStatus = async () => {
    const doc = json<{ services: Array<{ version: string | null; chaos: string | null }> }>(
      await sb.run(['--json', 'status', 'wiki', '--env', 'prod']),
    );
    const { version: v, chaos: c } = doc.services[0];
    return { version: v, chaos: c };
  };
  let chaos: string;

  beforeAll(() => {
    const env = appEnvFile(sb.dir, 'wiki.sandbox');
    // a failing verification gives up after this, not the recipe's 120 s
    writeFileSync(env, `${readFileSync(env, 'utf8')}\nTIMEOUT=8\n`);
  });

  it('status and versions show it as chaos: the label of the checkout plus its commit', async () => {
    const st = await wikiStatus();
    expect(st.version).toBe('1.1.0+1.42.1');
    expect(st.chaos).toMatch(/^commit [0-9a-f]{8}$/);
    chaos = st.chaos!.slice('commit '.length);
    const text = await sb.run(['status', 'wiki', '--env', 'prod']);
    expect(text.stdout).toContain(`1.1.0+1.42.1 (chaos: commit ${chaos})`);
    const v = json<{ warnings: string[] }>(await sb.run(['--json', 'versions', 'wiki', '--env', 'prod']));
    expect(v.warnings).toContain(`wiki/prod runs a chaos deploy, not a release: 1.1.0+1.42.1 plus commit ${chaos}`);
  });

  it("upgrade from it lists the fork's commits the release lacks and refuses without --from-chaos: exit 2", async () => {
    const records = (await history('wiki')).length;
    const r = await sb.run(['upgrade', 'wiki', '--env', 'prod', '--to', W2, '--yes']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`wiki/prod is a chaos deploy (1.1.0+1.42.1 plus commit ${chaos}): 2 commit(s)`);
    for (const subject of WIKI_FORK) expect(r.stderr).toContain(subject);
    expect(r.stderr).toContain('--from-chaos');
    expect(await wikiStatus()).toEqual({ version: '1.1.0+1.42.1', chaos: `commit ${chaos}` });
    expect(await history('wiki')).toHaveLength(records);
  });

  it('--from-chaos and the new release fails: the recovery deploys the chaos checkout again, not the release', async () => {
    await sb.fault('wiki', 'abra-upgrade-fails');
    try {
      const r = await sb.run(['--json', 'upgrade', 'wiki', '--env', 'prod', '--to', W2, '--yes', '--from-chaos']);
      expect(r.code, r.stderr).toBe(1);
      expect(json<{ record: ChaosRecord }>(r).record.status).toBe('rolled-back');
    } finally {
      await sb.fault('--clear', 'wiki');
    }
    expect(await wikiStatus()).toEqual({ version: '1.1.0+1.42.1', chaos: `commit ${chaos}` });
  }, 300_000);

  it('--from-chaos: the release is deployed and the dropped commits recorded; the pin committed', async () => {
    const r = await sb.run(['--json', 'upgrade', 'wiki', '--env', 'prod', '--to', W2, '--yes', '--from-chaos']);
    expect(r.code, r.stderr).toBe(0);
    const { record } = json<{ record: ChaosRecord }>(r);
    expect(record).toMatchObject({ status: 'succeeded', from: '1.1.0+1.42.1', to: W2 });
    expect(record.details.fromChaos).toMatchObject({ label: '1.1.0+1.42.1', commit: chaos });
    expect(record.details.fromChaos?.dropped?.join('\n')).toContain(WIKI_FORK[0]);
    expect(await wikiStatus()).toEqual({ version: W2, chaos: null });
    // the pin is committed (here by the failed run before, whose abra deploy -f had written it already)
    expect(gitShow(serversDir(), 'HEAD:wiki.sandbox.env')).toContain(`TYPE=mediawiki:${W2}`);
    expect(gitOut(serversDir(), ['status', '--porcelain', '--', 'wiki.sandbox.env'])).toBe('');
  }, 240_000);
});
