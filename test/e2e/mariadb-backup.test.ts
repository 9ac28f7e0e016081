import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/backup/create.js';
import { parseIdentities } from '../../src/backup/crypto.js';
import { swapDatabases } from '../../src/backup/database.js';
import { parseReport } from '../../src/backup/hostOutput.js';
import { findHostCopy, restoreFromHostCopy } from '../../src/backup/hostCopy.js';
import { databaseLeftovers } from '../../src/backup/leftovers.js';
import { mariadbSize } from '../../src/backup/mariadbHost.js';
import { inMariaDbScratchServer } from '../../src/backup/mariadbScratch.js';
import { restoreNames, restoreScratch, restoreToNewDatabase } from '../../src/backup/restore.js';
import { LocalStore } from '../../src/backup/store/local.js';
import { verifyBackup } from '../../src/backup/verify.js';
import { appBackupCheck } from '../../src/drivers/abra/backupCheck.js';
import type { RemoteHost } from '../../src/remote/ssh.js';
import { keycloakUsers } from '../../src/services/coopcloud/keycloakUsers.js';
import { appSchemaMark } from '../../src/services/coopcloud/schema.js';
import type { CheckContext, Target } from '../../src/targets/target.js';
import {
  createMariaDbSql,
  dropMariaDbSql,
  endMariaDbSessionsSql,
  mariadbDumpCommand,
  mariadbInspectSql,
  mariadbLoadCommand,
  mariadbRowCountsSql,
  mariadbSqlCommand,
  mariadbSwapCommand,
} from '../../src/backup/mariadb.js';
import { toShell, type RemoteCommand } from '../../src/remote/quote.js';
import { type MariaDbHost, removeMariaDbHost, startMariaDbHost } from '../helpers/mariadbHost.js';
import { type MariaDbServer, mariadbSql } from '../world/mariadb.js';
import { writeWrapper } from '../world/mastodon/host.js';
import { keycloakMariaDbSql, mediawikiMariaDbSql } from '../world/mariadbSchemas.js';

/**
 * The MariaDB host program (src/backup/host/mariadb-client.sh) against a real MariaDB 10.11 server, run as it runs
 * in the app's `db` container: the root password only in the container's environment (MYSQL_ROOT_PASSWORD_FILE,
 * as Docker secrets give it), the server on the client's default socket (MYSQL_UNIX_PORT).
 */
const ROOT_PASSWORD = 'r00t-Pw "with" $pecial \\ chars';
let dir: string;
let server: MariaDbServer;
let containerEnv: NodeJS.ProcessEnv;
let mdbHost: MariaDbHost | undefined;
const db = { name: 'mediawiki', user: 'root' };

beforeAll(async () => {
  mdbHost = await startMariaDbHost({
    rootPassword: ROOT_PASSWORD,
    database: 'mediawiki',
    user: 'mediawiki',
    password: 'wiki-pw',
  });
  ({ root: dir, server } = mdbHost);
  mariadbSql(server, ROOT_PASSWORD, mediawikiMariaDbSql('wiki.social.coop'), 'mediawiki');
  // the client tools run here as in the container, with this machine's PATH
  containerEnv = { ...mdbHost.env, PATH: process.env.PATH };
}, 120_000);

/** The "host" coopctl backs up from: a real sshd whose sessions are the database container's environment. */
function startHost(): { host: RemoteHost; bin: string } {
  return { host: mdbHost!.host, bin: mdbHost!.bin };
}

afterAll(async () => {
  if (mdbHost) await removeMariaDbHost(mdbHost);
});

function run(
  cmd: RemoteCommand | string,
  stdin = '',
  env = containerEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'bash',
      ['-c', typeof cmd === 'string' ? cmd : toShell(cmd)],
      { env, encoding: 'utf8' },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

const sql = (query: string, database = 'mediawiki') => mariadbSql(server, ROOT_PASSWORD, query, database);
const TABLES = ['page', 'revision', 'text', 'user'];

async function counts(database: string): Promise<Record<string, number>> {
  const r = await run(mariadbSqlCommand(db, database), mariadbRowCountsSql(TABLES));
  expect(r.stderr).toBe('');
  const report = parseReport(r.stdout);
  expect(report.complete).toBe(true);
  return Object.fromEntries([...report.values].map(([k, v]) => [k.replace(/^rows:/, ''), Number(v)]));
}

describe('MariaDB backups through host/mariadb-client.sh', () => {
  it('reads the server version, size and exact row counts as root, the password never in an argv', async () => {
    const r = await run(mariadbSqlCommand(db, 'mediawiki'), mariadbInspectSql('mediawiki'));
    const report = parseReport(r.stdout);
    expect(report.values.get('server')).toMatch(/^10\.11\.\d+-MariaDB/);
    expect(Number(report.values.get('size'))).toBeGreaterThan(0);
    expect(await counts('mediawiki')).toEqual({ page: 4, revision: 4, text: 4, user: 3 });
    for (const cmd of [mariadbSqlCommand(db, 'mediawiki'), mariadbDumpCommand(db, 1)])
      expect(toShell(cmd)).not.toContain('r00t');
  });

  it('without a root password in the container environment: exit 2 naming the variables', async () => {
    const { MYSQL_ROOT_PASSWORD_FILE: _, ...noPassword } = containerEnv;
    const r = await run(mariadbSqlCommand(db, 'mediawiki'), 'SELECT 1;', noPassword);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MARIADB_ROOT_PASSWORD[_FILE], MYSQL_ROOT_PASSWORD[_FILE]');
  });

  it('dumps with routines, triggers, events and binary columns as hex; loads it into a new database', async () => {
    const file = path.join(dir, 'wiki.sql.zst');
    const dumped = await run(`${toShell(mariadbDumpCommand(db, 1))} > ${file}`);
    expect(dumped.stderr).toBe('');
    expect(dumped.code).toBe(0);
    const text = await run(`zstd -d -q -c ${file}`);
    expect(text.stdout).toContain('CREATE TABLE `page`');
    expect(text.stdout).not.toContain('CREATE DATABASE');
    // page_title is varbinary: with --hex-blob it is a 0x literal, 'Main_Page' = 0x4D61696E5F50616765
    expect(text.stdout).toContain('0x4D61696E5F50616765');

    await run(mariadbSqlCommand(db, null), createMariaDbSql('mediawiki_restore_1'));
    const loaded = await run(mariadbLoadCommand(db, 'mediawiki_restore_1', file));
    expect(loaded.stderr).toBe('');
    expect(await counts('mediawiki_restore_1')).toEqual(await counts('mediawiki'));
  });

  it("swaps the restored database in with one RENAME TABLE: the live one's rows kept aside as previous", async () => {
    sql("INSERT INTO text (old_text, old_flags) VALUES ('written after the backup', 'utf-8')");
    const swap = await run(
      mariadbSwapCommand(db, { live: 'mediawiki', restored: 'mediawiki_restore_1', previous: 'mediawiki_prev_1' }),
    );
    expect(swap.stderr).toBe('');
    expect(swap.code).toBe(0);
    expect(sql("SELECT count(*) FROM text WHERE old_text = 'written after the backup'")).toBe('0');
    expect(sql("SELECT count(*) FROM text WHERE old_text = 'written after the backup'", 'mediawiki_prev_1')).toBe('1');
    expect(sql("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'mediawiki_restore_1'")).toBe('0');
    // the app's own user still reaches the live database by name
    expect(mariadbSql(server, 'wiki-pw', 'SELECT count(*) FROM page', 'mediawiki', 'mediawiki')).toBe('4');
  });

  it('refuses to swap a database that holds a view (RENAME TABLE would leave it behind); nothing moves', async () => {
    sql('CREATE DATABASE mediawiki_restore_2');
    sql('CREATE TABLE t (id int PRIMARY KEY)', 'mediawiki_restore_2');
    sql('CREATE VIEW page_titles AS SELECT page_title FROM page');
    const swap = await run(
      mariadbSwapCommand(db, { live: 'mediawiki', restored: 'mediawiki_restore_2', previous: 'mediawiki_prev_2' }),
    );
    expect(swap.code).toBe(3);
    expect(swap.stderr).toContain('mediawiki.page_titles (VIEW)');
    expect(sql('SELECT count(*) FROM page')).toBe('4');
    expect(sql("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'mediawiki_prev_2'")).toBe('0');
    sql('DROP VIEW page_titles');
  });

  it("ends the sessions in a restore's own database, so that it can be dropped", async () => {
    const held = execFile('mariadb', ['--no-defaults', `--socket=${server.socket}`, '-uroot', 'mediawiki_restore_2'], {
      env: { ...process.env, MYSQL_PWD: ROOT_PASSWORD },
    });
    held.stdin?.write('SELECT 1;\n');
    for (
      let i = 0;
      i < 50 && sql("SELECT count(*) FROM information_schema.processlist WHERE db = 'mediawiki_restore_2'") === '0';
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
    expect(sql("SELECT count(*) FROM information_schema.processlist WHERE db = 'mediawiki_restore_2'")).toBe('1');
    const r = await run(mariadbSqlCommand(db, null), endMariaDbSessionsSql('mediawiki_restore_2'));
    expect(r.stderr).toBe('');
    expect(sql("SELECT count(*) FROM information_schema.processlist WHERE db = 'mediawiki_restore_2'")).toBe('0');
    held.kill();
    const dropped = await run(mariadbSqlCommand(db, null), dropMariaDbSql('mediawiki_restore_2'));
    expect(dropped.stderr).toBe('');
    expect(sql("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'mediawiki_restore_2'")).toBe('0');
  });
});

describe('backup create of a MariaDB database, on its host', () => {
  let host: RemoteHost;
  let bin: string;
  let identity: string;
  let recipient: string;
  const copies = () => path.join(dir, 'copies');
  const store = () => new LocalStore(path.join(dir, 'store'));

  beforeAll(async () => {
    ({ host, bin } = startHost());
    identity = path.join(dir, 'age.key');
    execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
    recipient = execFileSync('age-keygen', ['-y', identity]).toString().trim();
  }, 60_000);

  const backup = () =>
    createBackup({
      source: { service: 'wiki', env: 'prod', host, db: { ...db, engine: 'mariadb' }, tables: TABLES, version: null },
      store: store(),
      encryption: { recipients: [recipient] },
      coopctlVersion: 'test',
      onHost: { dir: copies(), keep: 2, history: { remote: host, stateDir: path.join(dir, 'state') } },
    });

  it("Keycloak's migration ledger on MariaDB (DATABASECHANGELOG) marks where the schema stands; MediaWiki has none", async () => {
    mariadbSql(server, ROOT_PASSWORD, 'CREATE DATABASE keycloak;');
    mariadbSql(server, ROOT_PASSWORD, keycloakMariaDbSql('auth.social.coop'), 'keycloak');
    const auth = { service: 'auth', database: { name: 'keycloak', user: 'root', engine: 'mariadb' } };
    const before = await appSchemaMark(host, auth as unknown as Target);
    const rows = mariadbSql(
      server,
      ROOT_PASSWORD,
      'SELECT count(*), max(ORDEREXECUTED) FROM DATABASECHANGELOG',
      'keycloak',
    );
    expect(`${before.count}\t${before.newest}`).toBe(rows.split('\n').pop());
    expect(before.count).toBeGreaterThan(0);
    mariadbSql(
      server,
      ROOT_PASSWORD,
      "INSERT INTO DATABASECHANGELOG VALUES ('26.0.7-next', 'keycloak', 'META-INF/jpa-changelog-26.0.7.xml', " +
        `NOW(), ${Number(before.newest) + 1}, 'EXECUTED', NULL);`,
      'keycloak',
    );
    expect(await appSchemaMark(host, auth as unknown as Target)).toEqual({
      count: before.count + 1,
      newest: String(Number(before.newest) + 1),
    });
    const wiki = { service: 'wiki', database: { ...db, engine: 'mariadb' } };
    await expect(appSchemaMark(host, wiki as unknown as Target)).rejects.toThrow(/no migration ledger/);
  });

  it('backup prune finds what restores left on MariaDB: replaced copies of the live database and scratch databases', async () => {
    for (const name of [
      'mediawiki_before_20261207_101010',
      'coopctl_scratch_20261207_101010_ab12',
      'mediawikix_before',
    ])
      mariadbSql(
        server,
        ROOT_PASSWORD,
        `CREATE DATABASE ${name}; CREATE TABLE ${name}.t (a int); INSERT INTO ${name}.t VALUES (1);`,
      );
    const target = { ...db, engine: 'mariadb' as const };
    const found = await databaseLeftovers(host, target, { live: 'mediawiki', scratch: true });
    expect(found.map((l) => [l.kind, l.name, l.createdAt])).toEqual([
      ['scratch-database', 'coopctl_scratch_20261207_101010_ab12', '2026-12-07T10:10:10Z'],
      ['replaced-database', 'mediawiki_before_20261207_101010', '2026-12-07T10:10:10Z'],
    ]);
    expect(found.every((l) => (l.size ?? 0) > 0 && !l.inUse)).toBe(true);
    for (const l of found) await l.remove();
    expect(await databaseLeftovers(host, target, { live: 'mediawiki', scratch: true })).toEqual([]);
    expect(mariadbSql(server, ROOT_PASSWORD, "SHOW DATABASES LIKE 'mediawikix_before'")).toContain('mediawikix_before');
  });

  it("preflight's app-backup check asks mariadb-dump where the app's database runs, not pg_dump", async () => {
    const target = { database: { ...db, engine: 'mariadb' }, remote: host, host: { name: 'hypha' } };
    const r = await appBackupCheck.run({ target } as unknown as CheckContext);
    expect(r).toMatchObject({
      status: 'pass',
      message: expect.stringMatching(/^coopctl dumps mediawiki: mariadb-dump /),
    });
  });

  it('dumps on the host into a checked copy, encrypted to the store: row counts, server and tool recorded', async () => {
    const manifest = await backup();
    const hostCopy = String(manifest.hostCopy?.file);
    expect(manifest.database).toMatchObject({
      name: 'mediawiki',
      rowCounts: { page: 4, revision: 4, text: 4, user: 3 },
    });
    expect(manifest.database.serverVersion).toMatch(/^10\.11\./);
    // what the disk checks weigh (checks/facts.ts): the same size the manifest records
    expect(await mariadbSize(host, { ...db, engine: 'mariadb' })).toBe(manifest.database.size);
    expect(manifest.tools.pgDump).toMatch(/^mariadb-dump +Ver/);
    const onHost = JSON.parse(readFileSync(path.join(path.dirname(hostCopy), 'manifest.json'), 'utf8'));
    expect(onHost.checks).toEqual(['size', 'sha256', 'zstd -t', 'mariadb-dump footer']);
    const object = path.join(dir, 'store', 'wiki', 'prod', manifest.id, 'db.dump.zst.age');
    const plain = execFileSync('sh', ['-c', 'age -d -i "$1" "$2" | zstd -d', 'sh', identity, object]).toString();
    // 10.11.8 and later open the dump with the sandbox-mode line, then mariadb-dump's header
    expect(plain.split('\n').slice(0, 2).join('\n')).toContain('-- MariaDB dump');
    expect(plain).toContain('INSERT INTO `page` VALUES');
    expect(plain.trimEnd().split('\n').at(-1)).toMatch(/^-- Dump completed/);
  });

  it('after a failed upgrade: the on-host copy restored beside the live database, checked, swapped in', async () => {
    const manifest = await backup();
    // what the failed version did: a migration's table, and an edit
    sql('CREATE TABLE slots (slot_revision_id bigint unsigned NOT NULL PRIMARY KEY)');
    sql("INSERT INTO text (old_text, old_flags) VALUES ('edited on the failed version', 'utf-8')");
    const mdb = { ...db, engine: 'mariadb' as const };
    const copy = { base: copies(), service: 'wiki', env: 'prod', id: manifest.id };
    const onHost = await findHostCopy(host, copy);
    expect(onHost).toBeDefined();
    const names = restoreNames('mediawiki');
    await restoreFromHostCopy(host, mdb, copy, onHost!, names.restored);
    expect(sql('SELECT count(*) FROM text', names.restored)).toBe('4');
    await swapDatabases(host, mdb, { live: 'mediawiki', ...names });
    expect(
      sql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'mediawiki' AND table_name = 'slots'"),
    ).toBe('0');
    expect(sql("SELECT count(*) FROM text WHERE old_text = 'edited on the failed version'")).toBe('0');
    expect(sql("SELECT count(*) FROM text WHERE old_text = 'edited on the failed version'", names.previous)).toBe('1');
    expect(mariadbSql(server, 'wiki-pw', 'SELECT count(*) FROM page', 'mediawiki', 'mediawiki')).toBe('4');
  });

  it("a restore whose counts differ from the copy's manifest is refused and its database dropped", async () => {
    const manifest = await backup();
    const mdb = { ...db, engine: 'mariadb' as const };
    const copy = { base: copies(), service: 'wiki', env: 'prod', id: manifest.id };
    const onHost = (await findHostCopy(host, copy))!;
    const names = restoreNames('mediawiki', new Date(Date.now() + 1000));
    const claimed = {
      ...onHost,
      database: { ...onHost.database, rowCounts: { ...onHost.database.rowCounts, user: 9 } },
    };
    await expect(restoreFromHostCopy(host, mdb, copy, claimed, names.restored)).rejects.toThrow(
      /row counts differ from its manifest: user: expected 9, restored 3/,
    );
    expect(sql(`SELECT count(*) FROM information_schema.schemata WHERE schema_name = '${names.restored}'`)).toBe('0');
  });

  it('restores a backup from the store (decrypted here) into a new database beside the live one', async () => {
    const manifest = await backup();
    const names = restoreNames('mediawiki', new Date(Date.now() + 2000));
    const restored = await restoreToNewDatabase({
      store: store(),
      manifest,
      identities: parseIdentities(readFileSync(identity, 'utf8'), identity),
      target: { host, db: { ...db, engine: 'mariadb' } },
      database: names.restored,
    });
    expect(restored.rowCounts).toEqual(manifest.database.rowCounts);
    expect(sql('SELECT CAST(page_title AS CHAR) FROM page ORDER BY page_id LIMIT 1', names.restored)).toBe('Main_Page');
  });

  it('verify decrypts the backup on the host and checks the dump: whole, and rows of every table counted', async () => {
    const manifest = await backup();
    const lister = { host, db: { ...db, engine: 'mariadb' as const } };
    const identities = parseIdentities(readFileSync(identity, 'utf8'), identity);
    const ok = await verifyBackup({ store: store(), manifest, identities, lister, record: false });
    expect(ok.verification.details).toMatchObject({ tablesWithData: 4, host: 'hypha' });
    const claimed = {
      ...manifest,
      database: { ...manifest.database, rowCounts: { ...manifest.database.rowCounts, ipblocks: 2 } },
    };
    await expect(
      verifyBackup({ store: store(), manifest: claimed, identities, lister, record: false }),
    ).rejects.toThrow(/the dump holds no rows of ipblocks/);
  });

  it('the restore test runs in a throw-away server of the same major.minor, removed after; never in the live one', async () => {
    // the sandbox's docker (test/doubles/swarmDocker.ts) on the host: `docker run` starts a real MariaDB server
    writeWrapper(dir, 'docker', process.execPath, 'swarmDocker');
    const manifest = await backup();
    const identities = parseIdentities(readFileSync(identity, 'utf8'), identity);
    const r = await inMariaDbScratchServer(host, manifest.database, 1.5, (scratch) => {
      expect(scratch.dockerContainer).toMatch(/^coopctl-restore-test-[0-9a-f]{8}$/);
      expect(readdirSync(path.join(dir, 'containers'))).toEqual([scratch.dockerContainer]);
      return restoreScratch({ store: store(), manifest, identities, target: { host, db: scratch } });
    });
    expect(r.rowCounts).toEqual(manifest.database.rowCounts);
    expect(readdirSync(path.join(dir, 'containers'))).toEqual([]);
    expect(sql("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'coopctl%'")).toBe('0');
    const log = readFileSync(path.join(dir, 'log', 'docker.log'), 'utf8');
    expect(log).toMatch(/docker run -d --rm --name coopctl-restore-test-\w+ --network none .* mariadb:10\.11 -> 0/);
    expect(log).toMatch(/docker rm -f -v coopctl-restore-test-\w+ -> 0/);
  });

  describe("Keycloak's users per realm in the restore test, restored against live", () => {
    const auth = { name: 'keycloak_users', user: 'root', engine: 'mariadb' as const };
    const kc = (query: string) => mariadbSql(server, ROOT_PASSWORD, query, auth.name);
    const authStore = () => new LocalStore(path.join(dir, 'auth-store'));
    const backupAuth = () =>
      createBackup({
        source: { service: 'auth', env: 'prod', host, db: auth, tables: ['REALM', 'USER_ENTITY'], version: null },
        store: authStore(),
        encryption: { recipients: [recipient] },
        coopctlVersion: 'test',
        onHost: { dir: copies(), keep: 2, history: { remote: host, stateDir: path.join(dir, 'state') } },
      });
    const restoreTest = (manifest: Awaited<ReturnType<typeof backupAuth>>) =>
      inMariaDbScratchServer(host, manifest.database, 1.5, (scratch) =>
        restoreScratch({
          store: authStore(),
          manifest,
          identities: parseIdentities(readFileSync(identity, 'utf8'), identity),
          target: { host, db: scratch },
          facts: { facts: keycloakUsers, live: { host, db: auth } },
        }),
      );
    const socialCoop = "(SELECT ID FROM REALM WHERE NAME = 'social.coop')";
    const newMember = (n: number) =>
      kc(
        `INSERT INTO USER_ENTITY (ID, EMAIL_VERIFIED, ENABLED, REALM_ID, USERNAME) VALUES ('new-${n}', b'1', b'1', ` +
          `${socialCoop}, 'member${n}')`,
      );

    beforeAll(() => {
      writeWrapper(dir, 'docker', process.execPath, 'swarmDocker');
      mariadbSql(server, ROOT_PASSWORD, `CREATE DATABASE ${auth.name};`);
      kc(keycloakMariaDbSql('auth.social.coop'));
    });

    it('counted in the scratch database and the live one, a line per realm, recorded in the manifest', async () => {
      const manifest = await backupAuth();
      newMember(1); // joined after the backup: live has one more
      const r = await restoreTest(manifest);
      const lines = ['realm master: 1 user restored, 1 live', 'realm social.coop: 4 users restored, 5 live'];
      expect(r.facts?.lines).toEqual(lines);
      expect(r.verification.details.facts).toEqual({
        what: 'users per realm',
        lines,
        restored: { master: 1, 'social.coop': 4 },
        live: { master: 1, 'social.coop': 5 },
      });
      const recorded = JSON.parse(
        readFileSync(path.join(dir, 'auth-store', 'auth', 'prod', manifest.id, 'manifest.json'), 'utf8'),
      );
      expect(recorded.verifications.at(-1)).toMatchObject({
        kind: 'restore-scratch',
        ok: true,
        details: { facts: { lines } },
      });
    });

    it('a live database that cannot be read: the restored realms are judged alone, the reason kept', async () => {
      const manifest = await backupAuth();
      const r = await inMariaDbScratchServer(host, manifest.database, 1.5, (scratch) =>
        restoreScratch({
          store: authStore(),
          manifest,
          identities: parseIdentities(readFileSync(identity, 'utf8'), identity),
          target: { host, db: scratch },
          facts: { facts: keycloakUsers, live: { host, db: { ...auth, name: 'keycloak_gone' } } },
        }),
      );
      expect(r.facts).toMatchObject({
        lines: [
          'realm master: 1 user restored, live not counted',
          'realm social.coop: 5 users restored, live not counted',
        ],
        live: null,
        liveError: expect.stringMatching(/cannot count users per realm in keycloak_gone on hypha: .*Unknown database/),
      });
    });

    it('a realm backed up without users fails the restore test while live has them, though counts match', async () => {
      // what `kc.sh export` can do and still exit 0: the realm is there, its users are not (kept aside, to come back)
      kc('CREATE DATABASE kc_aside');
      kc(`CREATE TABLE kc_aside.users AS SELECT * FROM USER_ENTITY WHERE REALM_ID = ${socialCoop}`);
      kc(
        'CREATE TABLE kc_aside.credentials AS SELECT * FROM CREDENTIAL ' +
          'WHERE USER_ID IN (SELECT ID FROM kc_aside.users)',
      );
      kc('DELETE FROM CREDENTIAL WHERE USER_ID IN (SELECT ID FROM kc_aside.users)');
      kc(`DELETE FROM USER_ENTITY WHERE REALM_ID = ${socialCoop}`);
      const manifest = await backupAuth();
      kc(
        'INSERT INTO USER_ENTITY SELECT * FROM kc_aside.users; ' +
          'INSERT INTO CREDENTIAL SELECT * FROM kc_aside.credentials',
      );
      kc('DROP DATABASE kc_aside');
      const failed = restoreTest(manifest);
      await expect(failed).rejects.toMatchObject({
        code: 'restore-mismatch',
        message: expect.stringContaining('realm social.coop: 5 users live, none restored: the backup lost them'),
      });
      const recorded = JSON.parse(
        readFileSync(path.join(dir, 'auth-store', 'auth', 'prod', manifest.id, 'manifest.json'), 'utf8'),
      );
      expect(recorded.verifications.at(-1)).toMatchObject({
        kind: 'restore-scratch',
        ok: false,
        details: { code: 'restore-mismatch', facts: { restored: { master: 1, 'social.coop': 0 } } },
      });
      expect(readdirSync(path.join(dir, 'containers'))).toEqual([]);
    });
  });

  it('no throw-away server without room for it: the disk check comes first', async () => {
    const before = readFileSync(path.join(dir, 'log', 'docker.log'), 'utf8').split('\n').length;
    const huge = { size: 1e15, serverVersion: '10.11.19-MariaDB-0+deb12u1' };
    await expect(inMariaDbScratchServer(host, huge, 1.5, async () => 0)).rejects.toThrow(
      /not enough room on hypha for a throw-away mariadb:10\.11 server: .* free, .* needed \(1\.5× the database\)/,
    );
    const after = readFileSync(path.join(dir, 'log', 'docker.log'), 'utf8').split('\n');
    expect(after.slice(before - 1).join('\n')).not.toContain('docker run');
  });

  it('row counts failing beside the dump: the copy the dump wrote is removed, nothing reaches the store', async () => {
    const before = execFileSync('find', [copies(), '-name', 'db.dump.zst*']).toString();
    const stored = readdirSync(path.join(dir, 'store', 'wiki', 'prod')).sort();
    const failing = createBackup({
      source: { service: 'wiki', env: 'prod', host, db: { ...db, engine: 'mariadb' }, tables: [...TABLES, 'ipblocks'] },
      store: store(),
      encryption: { recipients: [recipient] },
      coopctlVersion: 'test',
      onHost: { dir: copies(), keep: 2, history: { remote: host, stateDir: path.join(dir, 'state') } },
    });
    await expect(failing).rejects.toThrow(/cannot count rows in mediawiki on hypha: .*ipblocks/);
    expect(execFileSync('find', [copies(), '-name', 'db.dump.zst*']).toString()).toBe(before);
    expect(readdirSync(path.join(dir, 'store', 'wiki', 'prod')).sort()).toEqual(stored);
  });

  it('a dump cut short that still exits 0 fails the check: no copy is left, nothing reaches the store', async () => {
    // a mariadb-dump whose output stops after 30 lines without an error (a wrapper without pipefail)
    writeFileSync(
      path.join(bin, 'mariadb-dump'),
      '#!/bin/sh\n[ "$1" = --version ] && exec /usr/bin/mariadb-dump "$@"\n/usr/bin/mariadb-dump "$@" | head -n 30\n',
    );
    chmodSync(path.join(bin, 'mariadb-dump'), 0o755);
    const before = existsSync(copies()) ? execFileSync('find', [copies(), '-name', 'db.dump.zst']).toString() : '';
    try {
      await expect(backup()).rejects.toThrow(/dump ends before mariadb-dump finished it/);
    } finally {
      rmSync(path.join(bin, 'mariadb-dump'));
    }
    expect(execFileSync('find', [copies(), '-name', 'db.dump.zst*']).toString()).toBe(before);
  });
});
