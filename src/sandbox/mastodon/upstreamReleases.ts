/**
 * The releases of the fixture Mastodon upstream: what each tag adds on top
 * of the previous one. Dates are upstream's real bump dates; notes are short
 * but in upstream's CHANGELOG style; migrations are real SQL for PostgreSQL 15.
 */
export interface FixtureMigration {
  /** `migrate` runs before the new code starts; `post_migrate` after it (skipped with SKIP_POST_DEPLOYMENT_MIGRATIONS). */
  phase: 'migrate' | 'post_migrate';
  /** 14-digit timestamp, as Rails names migrations. */
  version: string;
  name: string;
  sql: string;
}

export interface FixtureWork {
  subject: string;
  migration?: FixtureMigration;
}

export interface FixtureRelease {
  /** `4.5.0` or `4.5.0-rc.1`; the tag is `v` + this. */
  version: string;
  date: string;
  ruby: string;
  apiVersion: number;
  /** The CHANGELOG section this release has once released (absent for a pre-release tag). */
  changelog?: string;
  /** Commits before the "Bump version" commit, each optionally adding a migration. */
  work: FixtureWork[];
}

const timestamps = `created_at timestamp(6) without time zone NOT NULL DEFAULT now(),
  updated_at timestamp(6) without time zone NOT NULL DEFAULT now()`;

const createAccounts: FixtureMigration = {
  phase: 'migrate',
  version: '20160220174730',
  name: 'create_accounts',
  sql: `CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY);

CREATE TABLE accounts (
  id bigserial PRIMARY KEY,
  username text NOT NULL DEFAULT '',
  domain text,
  display_name text NOT NULL DEFAULT '',
  note text NOT NULL DEFAULT '',
  uri text NOT NULL DEFAULT '',
  locked boolean NOT NULL DEFAULT false,
  ${timestamps}
);

CREATE UNIQUE INDEX index_accounts_on_username_and_domain_lower
  ON accounts (lower(username), COALESCE(lower(domain), ''));
`,
};

const createUsers: FixtureMigration = {
  phase: 'migrate',
  version: '20160221003140',
  name: 'create_users',
  sql: `CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email text NOT NULL DEFAULT '',
  account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  encrypted_password text NOT NULL DEFAULT '',
  otp_secret text,
  otp_required_for_login boolean NOT NULL DEFAULT false,
  confirmed_at timestamp(6) without time zone,
  ${timestamps}
);

CREATE UNIQUE INDEX index_users_on_email ON users (email);
CREATE INDEX index_users_on_account_id ON users (account_id);
`,
};

const createStatuses: FixtureMigration = {
  phase: 'migrate',
  version: '20160222143943',
  name: 'create_statuses',
  sql: `CREATE TABLE statuses (
  id bigserial PRIMARY KEY,
  uri text,
  text text NOT NULL DEFAULT '',
  account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  in_reply_to_id bigint,
  visibility integer NOT NULL DEFAULT 0,
  local boolean,
  language text,
  ${timestamps}
);

CREATE INDEX index_statuses_on_account_id ON statuses (account_id);
CREATE UNIQUE INDEX index_statuses_on_uri ON statuses (uri) WHERE uri IS NOT NULL;
`,
};

const addAttributionDomains: FixtureMigration = {
  phase: 'migrate',
  version: '20240909014637',
  name: 'add_attribution_domains_to_accounts',
  sql: `ALTER TABLE accounts ADD COLUMN attribution_domains text[] NOT NULL DEFAULT '{}';\n`,
};

const addFetchedRepliesAt: FixtureMigration = {
  phase: 'migrate',
  version: '20250312101900',
  name: 'add_fetched_replies_at_to_statuses',
  sql: `ALTER TABLE statuses ADD COLUMN fetched_replies_at timestamp(6) without time zone;\n`,
};

const addStatusesAccountIdIdIndex: FixtureMigration = {
  phase: 'post_migrate',
  version: '20251017093000',
  name: 'add_index_statuses_on_account_id_id',
  sql: `CREATE INDEX IF NOT EXISTS index_statuses_on_account_id_id ON statuses (account_id, id DESC);\n`,
};

const createQuotes: FixtureMigration = {
  phase: 'migrate',
  version: '20250806104800',
  name: 'create_quotes',
  sql: `CREATE TABLE quotes (
  id bigserial PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  status_id bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
  quoted_status_id bigint REFERENCES statuses (id) ON DELETE SET NULL,
  state integer NOT NULL DEFAULT 0,
  ${timestamps}
);

CREATE UNIQUE INDEX index_quotes_on_status_id ON quotes (status_id);
`,
};

const addQuoteApprovalPolicy: FixtureMigration = {
  phase: 'migrate',
  version: '20250822124818',
  name: 'add_quote_approval_policy_to_statuses',
  sql: `ALTER TABLE statuses ADD COLUMN quote_approval_policy integer NOT NULL DEFAULT 0;\n`,
};

const removeOtpSecret: FixtureMigration = {
  phase: 'post_migrate',
  version: '20250905140000',
  name: 'remove_legacy_otp_secret_from_users',
  sql: `ALTER TABLE users DROP COLUMN otp_secret;\n`,
};

const addQuotedStatusIndex: FixtureMigration = {
  phase: 'migrate',
  version: '20251110120000',
  name: 'add_index_quotes_on_quoted_status_id',
  sql: `CREATE INDEX index_quotes_on_quoted_status_id ON quotes (quoted_status_id);\n`,
};

const createCollections: FixtureMigration = {
  phase: 'migrate',
  version: '20260212090000',
  name: 'create_collections',
  sql: `CREATE TABLE collections (
  id bigserial PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  local boolean NOT NULL DEFAULT true,
  ${timestamps}
);

CREATE INDEX index_collections_on_account_id ON collections (account_id);
`,
};

const notes438 = `### Changed

- Change account search to skip suspended accounts in more places (#34605 by @ClearlyClaire)

### Fixed

- Fix some notification types not being filtered by account filters (#34590 by @ClearlyClaire)
- Fix attribution domains not being saved when editing profile (#34570 by @ClearlyClaire)
- Fix media attachments without description being counted against alt text reminder (#34558 by @diondiondion)`;

const notes447 = `### Fixed

- Fix forwarder being called with \`nil\` status when quote post is soft-deleted (#36463 by @ClearlyClaire)
- Fix moderation warning e-mails that include posts (#36462 by @ClearlyClaire)
- Fix allow_referrer_origin typo (#36460 by @ShadowJonathan)`;

const notes448 = `### Security

- Fix quote control bypass ([GHSA-8h43-rcqj-wpc6](https://github.com/mastodon/mastodon/security/advisories/GHSA-8h43-rcqj-wpc6))

### Fixed

- Fix slow profile timeline queries on accounts with many posts (#36511 by @ClearlyClaire)`;

const notes450 = `### Added

- **Add support for allowing and authoring quotes** (#35355, #35578, and #36736 by @ChaosExAnima, @ClearlyClaire, and @diondiondion)\\
  This includes a revamp of the composer interface.
- **Add support for fetching and refreshing replies to the web UI** (#35210 and #36547 by @ClearlyClaire and @diondiondion)
- **Add ability to block words in usernames** (#35407 by @ClearlyClaire and @Gargron)
- Add “Posting defaults” setting page, moving existing settings from “Other” (#35896 by @ClearlyClaire)

### Changed

- Change “Follow” button labels (#36264 by @diondiondion)
- Change submitting an empty post to show an error rather than failing silently (#36650 by @diondiondion)

### Removed

- Remove support for PostgreSQL 13: PostgreSQL 14 or newer is now required (#36540 by @renchap)
- Remove legacy \`otp_secret\` column, replaced by encrypted OTP secrets since 4.4 (#36402 by @ClearlyClaire)

### Fixed

- Fix post being submitted when pressing “Enter” in the CW field (#35445 by @diondiondion)`;

const notes451 = `### Security

- Fix quote authorization not being re-checked when the quoted post's visibility changes
- Update dependencies

### Fixed

- Fix posts coming from public/hashtag streaming being marked as unquotable (#36860 and #36869 by @ClearlyClaire)
- Fix filters not being applied to quotes in detailed view (#36843 by @ClearlyClaire)
- Fix blank screen in browsers that don't support \`Intl.DisplayNames\` (#36847 by @diondiondion)`;

const notes460 = `### Added

- **Add collections** (#37992 and #39457 by @ChaosExAnima, @ClearlyClaire, and @oneiros)\\
  Create collections with up to 25 accounts each, then share them with others.
- **Add email subscriptions** (#38163 and #39271 by @ClearlyClaire and @Gargron)
- Add \`max_note_length\` and \`max_display_name_length\` attributes to \`configuration.accounts\` in \`Instance\` entity (#37991 by @ClearlyClaire)

### Changed

- Change the minimum supported Redis version to 7.0 (#38520 by @renchap)

### Fixed

- Fix display of past relative times (#39742 by @ClearlyClaire)
- Fix pinned post button width (#39724 by @ChaosExAnima)`;

export const FIXTURE_RELEASES: readonly FixtureRelease[] = [
  {
    version: '4.3.8',
    date: '2025-05-06T14:17:07+00:00',
    ruby: '3.3.8',
    apiVersion: 2,
    changelog: notes438,
    work: [
      { subject: 'Initial schema: accounts', migration: createAccounts },
      { subject: 'Add users', migration: createUsers },
      { subject: 'Add statuses', migration: createStatuses },
      { subject: 'Add attribution domains to accounts (#31433)', migration: addAttributionDomains },
      { subject: 'Fix some notification types not being filtered by account filters (#34590)' },
    ],
  },
  {
    version: '4.4.7',
    date: '2025-10-15T09:11:03+00:00',
    ruby: '3.4.5',
    apiVersion: 6,
    changelog: notes447,
    work: [
      { subject: 'Add fetching of all replies (#34100)', migration: addFetchedRepliesAt },
      { subject: 'Fix moderation warning e-mails that include posts (#36462)' },
    ],
  },
  {
    version: '4.4.8',
    date: '2025-10-21T15:12:37+02:00',
    ruby: '3.4.5',
    apiVersion: 6,
    changelog: notes448,
    work: [
      { subject: 'Merge commit from fork' },
      { subject: 'Fix slow profile timeline queries (#36511)', migration: addStatusesAccountIdIdIndex },
    ],
  },
  {
    version: '4.5.0-rc.1',
    date: '2025-10-29T11:11:33+00:00',
    ruby: '3.4.7',
    apiVersion: 7,
    work: [
      { subject: 'Add support for allowing and authoring quotes (#35355)', migration: createQuotes },
      { subject: 'Add quote approval policy to statuses (#35578)', migration: addQuoteApprovalPolicy },
      { subject: 'Remove legacy OTP secret column (#36402)', migration: removeOtpSecret },
    ],
  },
  {
    version: '4.5.0',
    date: '2025-11-06T12:39:07+01:00',
    ruby: '3.4.7',
    apiVersion: 7,
    changelog: notes450,
    work: [{ subject: 'Fix post being submitted when pressing “Enter” in the CW field (#35445)' }],
  },
  {
    version: '4.5.1',
    date: '2025-11-13T17:12:07+01:00',
    ruby: '3.4.7',
    apiVersion: 7,
    changelog: notes451,
    work: [
      { subject: 'Merge commit from fork' },
      { subject: 'Fix filters not being applied to quotes in detailed view (#36843)', migration: addQuotedStatusIndex },
    ],
  },
  {
    version: '4.6.0',
    date: '2026-06-17T13:28:43+00:00',
    ruby: '3.4.8',
    apiVersion: 10,
    changelog: notes460,
    work: [
      { subject: 'Add collections (#37992)', migration: createCollections },
      { subject: 'Fix display of past relative times (#39742)' },
    ],
  },
];

/** Upstream's post length limit; a patched tree changes this constant. */
export const UPSTREAM_MAX_CHARS = 500;
