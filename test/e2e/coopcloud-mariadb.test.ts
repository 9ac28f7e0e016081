import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { volumeMountpoint } from '../doubles/dockerVolumes.js';
import { appSql } from '../helpers/appSql.js';
import { fileHashes } from '../helpers/fileHashes.js';
import { json } from '../helpers/cli.js';
import { appEnvFile, startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { startCli, stderrSoFar, waitFor } from '../helpers/upgradeSandbox.js';
import { sandboxLayout } from '../world/layout.js';

/**
 * Keycloak and MediaWiki on their MariaDB servers on the sandbox's hypha (as on the real one), through the CLI with
 * the sandbox's coopctl.yaml (engine mariadb, user root): a failed upgrade restored, a production backup restored
 * into alpha, a restore test in a throw-away mariadb container.
 */
const W1 = '1.1.0+1.42.1';
const W2 = '1.1.1+1.42.3';

interface UpgradeDoc {
  ok: boolean;
  state: string;
  record: { id: string; status: string; from: string; to: string; backupId: string | null };
}
interface HistoryDoc {
  records: Array<{ id: string; service: string; env: string; status: string; from: string; to: string }>;
}

let sb: TestSandbox;

beforeAll(async () => {
  sb = await startSandbox();
  // a failing verification gives up after this, not the recipe's 120 s
  const env = appEnvFile(sb.dir, 'wiki-alpha.sandbox');
  writeFileSync(env, `${readFileSync(env, 'utf8')}\nTIMEOUT=8\n`);
}, 600_000);

afterAll(async () => {
  await sb?.down();
});

const sql = (stack: string, db: string, query: string) => appSql(sb.dir, stack, db, query);

/** The wiki's content, row by row: pages with their text, revisions, users. */
function wikiRows(stack: string): Record<string, string> {
  const q = (query: string) => sql(stack, 'mediawiki', query);
  return {
    pages: q(
      'SELECT p.page_id, p.page_title, p.page_latest, p.page_len, t.old_text FROM page p ' +
        'JOIN revision r ON r.rev_id = p.page_latest JOIN text t ON t.old_id = p.page_latest ORDER BY p.page_id',
    ),
    revisions: q('SELECT rev_id, rev_page, rev_actor, rev_timestamp, rev_len, rev_sha1 FROM revision ORDER BY 1'),
    users: q('SELECT user_id, user_name, user_email, user_editcount FROM user ORDER BY 1'),
  };
}

async function wikiVersionAndHealth(env: string): Promise<{ version: string | null; healthy: boolean }> {
  const r = await sb.run(['--json', 'status', 'wiki', '--env', env]);
  const [row] = json<{ services: Array<{ version: string | null; healthy: boolean }> }>(r).services;
  return { version: row.version, healthy: row.healthy };
}

describe('MediaWiki on MariaDB', () => {
  it('a failed upgrade of wiki-alpha ends rolled back on its database of before: every row as it was', async () => {
    const before = wikiRows('wiki-alpha_sandbox');
    expect(before.pages).toContain('Staging_Notes');
    expect((await sb.fault('wiki-alpha', 'abra-upgrade-fails')).code).toBe(0);
    let doc: UpgradeDoc;
    try {
      const r = await sb.run(['--json', 'upgrade', 'wiki', '--env', 'alpha', '--to', W2, '--yes']);
      expect(r.code, r.stderr).toBe(1);
      doc = json<UpgradeDoc>(r);
    } finally {
      await sb.fault('--clear', 'wiki-alpha');
    }
    expect(doc.record).toMatchObject({ status: 'rolled-back', from: W1, to: W2 });
    // MediaWiki keeps no migration ledger: nothing tells what the failed version wrote, so the backup is restored
    expect(doc.state).toContain('database restored from');
    expect(wikiRows('wiki-alpha_sandbox')).toEqual(before);
    expect(await wikiVersionAndHealth('alpha')).toEqual({ version: W1, healthy: true });
    const history = json<HistoryDoc>(await sb.run(['--json', 'history', 'wiki', '--env', 'alpha'])).records;
    expect(history[0]).toMatchObject({ id: doc.record.id, status: 'rolled-back', from: W1, to: W2 });
  }, 300_000);

  it('what the failing version wrote (a page, an image changed, one added) is replaced by the data of before', async () => {
    const images = volumeMountpoint(sandboxLayout(sb.dir).host('hypha'), 'wiki-alpha_sandbox_mediawiki-images');
    const rowsBefore = wikiRows('wiki-alpha_sandbox');
    const filesBefore = fileHashes(images);
    const changed = [...filesBefore.keys()][3];
    expect((await sb.fault('wiki-alpha', 'health-fails')).code).toBe(0);
    const run = startCli(sb, ['upgrade', 'wiki', '--env', 'alpha', '--to', W2, '--yes']);
    const progress = stderrSoFar(run);
    try {
      // once the new version runs (after the safety backup), before its verification gives up: its writes
      // its title once in the plan, again when the stage starts
      const verifying = () => progress().split(`Verify ${W2} is healthy`).length > 2;
      await waitFor('the verification to start', verifying, 240_000).catch((err: Error) => {
        throw new Error(`${err.message}; the run said: ${progress()}`);
      });
      sql('wiki-alpha_sandbox', 'mediawiki', "UPDATE text SET old_text = 'vandalised by the new version'");
      writeFileSync(path.join(images, changed), 'overwritten by the new version');
      writeFileSync(path.join(images, 'uploaded-by-the-new-version.png'), 'new');
      // the fault stays until the recovery starts: cleared earlier, the verification would pass
      await waitFor(
        'the recovery to start',
        () => /Let what the upgrade started .* end/.test(progress()),
        120_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; the run said: ${progress()}`);
      });
    } finally {
      await sb.fault('--clear', 'wiki-alpha');
    }
    const r = await run;
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toContain('database restored from');
    const history = json<HistoryDoc>(await sb.run(['--json', 'history', 'wiki', '--env', 'alpha'])).records;
    expect(history[0]).toMatchObject({ status: 'rolled-back', from: W1, to: W2 });
    expect(wikiRows('wiki-alpha_sandbox')).toEqual(rowsBefore);
    expect(fileHashes(images)).toEqual(filesBefore);
    expect(await wikiVersionAndHealth('alpha')).toEqual({ version: W1, healthy: true });
  }, 400_000);

  it("prod's backup restored into wiki-alpha (--from-other-env): prod's rows, alpha healthy", async () => {
    const prod = wikiRows('wiki_sandbox');
    expect(wikiRows('wiki-alpha_sandbox')).not.toEqual(prod);
    const created = await sb.run(['--json', 'backup', 'create', 'wiki', '--env', 'prod']);
    expect(created.code, created.stderr).toBe(0);
    const { id } = json<{ id: string }>(created);
    const r = await sb.run(['--json', 'backup', 'restore', id, '--into', 'alpha', '--from-other-env', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(json<UpgradeDoc>(r).record.status).toBe('succeeded');
    expect(wikiRows('wiki-alpha_sandbox')).toEqual(prod);
    expect(wikiRows('wiki_sandbox')).toEqual(prod);
    expect((await wikiVersionAndHealth('alpha')).healthy).toBe(true);
  }, 300_000);
});

describe('Keycloak on MariaDB', () => {
  it('backup verify --restore runs in a throw-away mariadb:10.11 container on the restore-test host', async () => {
    const created = await sb.run(['--json', 'backup', 'create', 'auth', '--env', 'prod']);
    expect(created.code, created.stderr).toBe(0);
    const { id } = json<{ id: string }>(created);
    const users = sql('auth_sandbox', 'keycloak', 'SELECT count(*) FROM USER_ENTITY');
    const r = await sb.run(['backup', 'verify', id, '--restore']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${id}: restored on alpha into \\w+ and dropped; row counts match \\(`, 'm'));
    expect(r.stdout).toContain(`USER_ENTITY ${users}`);
    // the restore-test host's docker: the server started, then removed; nothing of it left
    const log = readFileSync(path.join(sandboxLayout(sb.dir).host('alpha'), 'log', 'docker.log'), 'utf8');
    const name = /docker run -d --rm --name (coopctl-restore-test-[0-9a-f]+) .*mariadb:10\.11 -> 0$/m.exec(log)?.[1];
    expect(name, log).toBeDefined();
    expect(log).toMatch(new RegExp(`docker rm -f -v ${name} -> 0$`, 'm'));
    // and nothing landed in the SSO's own server
    expect(
      sql(
        'auth_sandbox',
        'keycloak',
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'coopctl%'",
      ),
    ).toBe('0');
  }, 300_000);
});
