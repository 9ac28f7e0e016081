/**
 * Keycloak's and MediaWiki's databases as they look on MariaDB: a small subset of their real tables, with the
 * names, types and keys upstream gives them, and a few realistic rows.
 */
const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export const SANDBOX_REALMS = ['master', 'social.coop'] as const;

// source: keycloak/keycloak model/jpa/src/main/resources/META-INF/jpa-changelog-1.0.0.Final.xml (createTable REALM,
// USER_ENTITY, CREDENTIAL: upper-case names, VARCHAR(36) ids, BOOLEAN flags), jpa-changelog-8.0.0.xml
// (8.0.0-adding-credential-columns: CREDENTIAL.USER_LABEL, SECRET_DATA, CREDENTIAL_DATA, PRIORITY); Liquibase's
// ledger DATABASECHANGELOG (ID, AUTHOR, FILENAME, DATEEXECUTED, ORDEREXECUTED, EXECTYPE, MD5SUM) as recorded in
// dumps of real Keycloak databases (e.g. '8.0.0-adding-credential-columns','keycloak','META-INF/jpa-changelog-8.0.0.xml').
// On MariaDB the table names keep their case (lower_case_table_names=0 on Linux).
export function keycloakMariaDbSql(domain: string): string {
  const realms: Array<[string, string]> = [
    ['3a1f0c52-7d0e-4b1a-9a55-0c1f3e0d2a10', 'master'],
    ['8e2b7d11-41f6-4c7e-a1f5-2d8f0b6c9e21', 'social.coop'],
  ];
  const users: Array<[string, string, string | null, number, boolean]> = [
    ['c0a80001-0000-4000-8000-000000000001', 'admin', null, 0, true],
    ['c0a80001-0000-4000-8000-000000000002', 'alice', 'alice@social.coop', 1, true],
    ['c0a80001-0000-4000-8000-000000000003', 'bob', 'bob@social.coop', 1, true],
    ['c0a80001-0000-4000-8000-000000000004', 'carol', 'carol@social.coop', 1, false],
    ['c0a80001-0000-4000-8000-000000000005', 'dmitri', 'dmitri@social.coop', 1, true],
  ];
  const pbkdf2 = (n: number) =>
    `{"value":"${Buffer.from(`hash-${n}-${domain}`).toString('base64')}","salt":"${Buffer.from(`salt-${n}`).toString('base64')}","additionalParameters":{}}`;
  return `CREATE TABLE DATABASECHANGELOG (ID varchar(255) NOT NULL, AUTHOR varchar(255) NOT NULL,
  FILENAME varchar(255) NOT NULL, DATEEXECUTED datetime NOT NULL, ORDEREXECUTED int NOT NULL,
  EXECTYPE varchar(10) NOT NULL, MD5SUM varchar(35) DEFAULT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3;
CREATE TABLE REALM (ID varchar(36) NOT NULL, NAME varchar(255) DEFAULT NULL, ENABLED bit(1) NOT NULL DEFAULT b'0',
  SSL_REQUIRED varchar(255) DEFAULT NULL, REGISTRATION_ALLOWED bit(1) NOT NULL DEFAULT b'0',
  PRIMARY KEY (ID), UNIQUE KEY UK_ORVSDMLA56612EAEFIQ6WL5OI (NAME)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3;
CREATE TABLE USER_ENTITY (ID varchar(36) NOT NULL, EMAIL varchar(255) DEFAULT NULL,
  EMAIL_CONSTRAINT varchar(255) DEFAULT NULL, EMAIL_VERIFIED bit(1) NOT NULL DEFAULT b'0',
  ENABLED bit(1) NOT NULL DEFAULT b'0', FIRST_NAME varchar(255) DEFAULT NULL, LAST_NAME varchar(255) DEFAULT NULL,
  REALM_ID varchar(255) DEFAULT NULL, USERNAME varchar(255) DEFAULT NULL, CREATED_TIMESTAMP bigint DEFAULT NULL,
  PRIMARY KEY (ID), UNIQUE KEY UK_RU8TT6T700S9V50BU18WS5HA6 (REALM_ID, USERNAME),
  KEY IDX_USER_EMAIL (EMAIL)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3;
CREATE TABLE CREDENTIAL (ID varchar(36) NOT NULL, SALT tinyblob DEFAULT NULL, TYPE varchar(255) DEFAULT NULL,
  USER_ID varchar(36) DEFAULT NULL, CREATED_DATE bigint DEFAULT NULL, USER_LABEL varchar(255) DEFAULT NULL,
  SECRET_DATA longtext DEFAULT NULL, CREDENTIAL_DATA longtext DEFAULT NULL, PRIORITY int DEFAULT NULL,
  PRIMARY KEY (ID), KEY IDX_USER_CREDENTIAL (USER_ID),
  CONSTRAINT FK_PFYR0GLASQYL0DEI3KL69R6V0 FOREIGN KEY (USER_ID) REFERENCES USER_ENTITY (ID))
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb3;
INSERT INTO DATABASECHANGELOG VALUES
  ('1.0.0.Final-KEYCLOAK-5461', 'sthorger@redhat.com', 'META-INF/jpa-changelog-1.0.0.Final.xml',
   '2024-10-07 11:01:30', 1, 'EXECUTED', '9:6f1016664e21e16d26517a4418f5e3df'),
  ('8.0.0-adding-credential-columns', 'keycloak', 'META-INF/jpa-changelog-8.0.0.xml',
   '2024-10-07 11:01:38', 72, 'EXECUTED', '9:aa072ad090bbba210d8f18781b8cebf4');
INSERT INTO REALM (ID, NAME, ENABLED, SSL_REQUIRED) VALUES
  ${realms.map(([id, name]) => `(${q(id)}, ${q(name)}, b'1', 'external')`).join(',\n  ')};
INSERT INTO USER_ENTITY (ID, EMAIL, EMAIL_CONSTRAINT, EMAIL_VERIFIED, ENABLED, REALM_ID, USERNAME, CREATED_TIMESTAMP)
  VALUES
  ${users
    .map(
      ([id, name, email, realm, enabled], i) =>
        `(${q(id)}, ${email ? q(email) : 'NULL'}, ${q(email ?? id)}, b'${email ? 1 : 0}', b'${enabled ? 1 : 0}', ` +
        `${q(realms[realm][0])}, ${q(name)}, ${1727787730000 + i * 86_400_000})`,
    )
    .join(',\n  ')};
INSERT INTO CREDENTIAL (ID, TYPE, USER_ID, CREATED_DATE, SECRET_DATA, CREDENTIAL_DATA, PRIORITY) VALUES
  ${users
    .map(
      ([id], i) =>
        `(${q(`d1e20000-0000-4000-8000-00000000000${i + 1}`)}, 'password', ${q(id)}, ${1727787731000 + i}, ` +
        `${q(pbkdf2(i))}, '{"hashIterations":27500,"algorithm":"pbkdf2-sha256","additionalParameters":{}}', 10)`,
    )
    .join(',\n  ')};
`;
}

/** Production's wiki and the alpha wiki hold different pages: a test can tell whose data a wiki holds. */
export function wikiPages(domain: string): Array<[string, string]> {
  return domain.startsWith('wiki-alpha.')
    ? [
        ['Welcome_to_wiki-alpha', 'This is the test wiki. Anything here may be overwritten by a restore test.'],
        ['Staging_Notes', 'Notes from trying extensions before they go to the real wiki.'],
      ]
    : [
        ['Main_Page', 'Welcome to the social.coop wiki.'],
        ['Code_of_Conduct', 'social.coop is a space for respectful, constructive conversation.'],
        ['Tech_Working_Group', 'The TWG runs the servers: Mastodon, Bonfire, the SSO and this wiki.'],
        ['Operations_Runbook', 'How to upgrade, back up and restore each service.'],
      ];
}

// source: wikimedia/mediawiki sql/mysql/tables-generated.sql (page: page_id, page_namespace, page_title
// varbinary(255), unique name_title; revision: rev_id, rev_page, rev_comment_id, rev_actor, rev_timestamp
// binary(14), rev_sha1, index rev_page_timestamp; user: user_name varbinary(255) unique, user_password tinyblob,
// user_token binary(32)); text: old_id, old_text mediumblob, old_flags tinyblob (maintenance/tables.sql, kept in
// 1.40 for the content blobs the `content` table addresses as tt:<old_id>).
export function mediawikiMariaDbSql(domain: string): string {
  const pages = wikiPages(domain);
  const ts = (i: number) => q(`2024100${i}120000`);
  const editors = ['Admin', 'Alice', 'Bob'];
  return `CREATE TABLE page (page_id int unsigned NOT NULL AUTO_INCREMENT, page_namespace int NOT NULL,
  page_title varbinary(255) NOT NULL, page_is_redirect tinyint unsigned NOT NULL DEFAULT 0,
  page_is_new tinyint unsigned NOT NULL DEFAULT 0, page_random double unsigned NOT NULL,
  page_touched binary(14) NOT NULL, page_latest int unsigned NOT NULL, page_len int unsigned NOT NULL,
  page_content_model varbinary(32) DEFAULT NULL, PRIMARY KEY (page_id),
  UNIQUE KEY name_title (page_namespace, page_title), KEY page_len (page_len)) ENGINE=InnoDB DEFAULT CHARSET=binary;
CREATE TABLE revision (rev_id bigint unsigned NOT NULL AUTO_INCREMENT, rev_page int unsigned NOT NULL,
  rev_comment_id bigint unsigned NOT NULL DEFAULT 0, rev_actor bigint unsigned NOT NULL DEFAULT 0,
  rev_timestamp binary(14) NOT NULL, rev_minor_edit tinyint unsigned NOT NULL DEFAULT 0,
  rev_len int unsigned DEFAULT NULL, rev_parent_id bigint unsigned DEFAULT NULL, rev_sha1 varbinary(32) NOT NULL,
  PRIMARY KEY (rev_id), KEY rev_timestamp (rev_timestamp), KEY rev_page_timestamp (rev_page, rev_timestamp))
  ENGINE=InnoDB DEFAULT CHARSET=binary;
CREATE TABLE text (old_id int unsigned NOT NULL AUTO_INCREMENT, old_text mediumblob NOT NULL,
  old_flags tinyblob NOT NULL, PRIMARY KEY (old_id)) ENGINE=InnoDB DEFAULT CHARSET=binary;
CREATE TABLE user (user_id int unsigned NOT NULL AUTO_INCREMENT, user_name varbinary(255) NOT NULL,
  user_real_name varbinary(255) NOT NULL DEFAULT '', user_password tinyblob NOT NULL, user_email tinyblob NOT NULL,
  user_touched binary(14) NOT NULL, user_token binary(32) NOT NULL DEFAULT '', user_registration binary(14),
  user_editcount int unsigned DEFAULT NULL, PRIMARY KEY (user_id), UNIQUE KEY user_name (user_name),
  KEY user_email (user_email(50))) ENGINE=InnoDB DEFAULT CHARSET=binary;
INSERT INTO user (user_name, user_password, user_email, user_touched, user_registration, user_editcount) VALUES
  ${editors.map((u, i) => `(${q(u)}, ${q(`:pbkdf2:sha512:30000:64:${Buffer.from(u).toString('base64')}`)}, ${q(`${u.toLowerCase()}@social.coop`)}, ${ts(i + 1)}, ${ts(i + 1)}, ${i + 1})`).join(',\n  ')};
INSERT INTO text (old_text, old_flags) VALUES ${pages.map(([, body]) => `(${q(body)}, 'utf-8')`).join(', ')};
INSERT INTO page (page_namespace, page_title, page_random, page_touched, page_latest, page_len, page_content_model)
  VALUES
  ${pages.map(([t, body], i) => `(0, ${q(t)}, 0.${i + 1}234, ${ts(i + 1)}, ${i + 1}, ${Buffer.byteLength(body)}, 'wikitext')`).join(',\n  ')};
INSERT INTO revision (rev_page, rev_actor, rev_timestamp, rev_len, rev_sha1) VALUES
  ${pages.map(([, body], i) => `(${i + 1}, ${(i % editors.length) + 1}, ${ts(i + 1)}, ${Buffer.byteLength(body)}, ${q(`sha1${i}`)})`).join(',\n  ')};
`;
}
