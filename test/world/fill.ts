import { InputError } from '../../src/kernel/errors.js';
import { formatBytes, unknownName } from '../../src/kernel/validate.js';
import { loadStandinConfig } from '../doubles/mastodon/config.js';
import { hostCluster } from '../doubles/mastodon/migrations.js';
import { sandboxLayout } from './layout.js';
import { psql } from './postgres.js';
import { readState } from './state.js';

/**
 * `coopctl sandbox fill ENV --size SIZE`: grows an environment's Mastodon database with realistic rows, made
 * by PostgreSQL itself (INSERT ... SELECT generate_series) in batches until pg_database_size reaches SIZE.
 */
const WORDS: Record<string, string[]> = {
  en: `the co-op meeting today about our instance and moderation policy thanks everyone who joined
    reading release notes before upgrade backups look good tomorrow weekend garden coffee community
    federation server volunteers working group proposal vote loomio photo walk city bike train`.split(/\s+/),
  de: `heute das Treffen der Genossenschaft über unsere Instanz und Moderation danke allen fürs Mitmachen
    Garten Kaffee Wochenende Zug Fahrrad Gemeinschaft Vorschlag Abstimmung Sicherung Aktualisierung`.split(/\s+/),
  fr: `aujourd'hui la réunion de la coopérative sur notre instance et la modération merci à tous jardin
    café week-end vélo train communauté proposition vote sauvegarde mise à jour bénévoles`.split(/\s+/),
  es: `hoy la reunión de la cooperativa sobre nuestra instancia y la moderación gracias a todos jardín
    café fin de semana bicicleta tren comunidad propuesta votación copia actualización`.split(/\s+/),
  pt: `hoje a reunião da cooperativa sobre nossa instância e moderação obrigado a todos jardim café fim
    de semana bicicleta trem comunidade proposta votação cópia atualização voluntários`.split(/\s+/),
  ja: `今日 協同組合 の 会議 インスタンス モデレーション ありがとう 庭 コーヒー 週末 自転車 電車 コミュニティ 提案 投票
    バックアップ 更新 ボランティア`.split(/\s+/),
};
const FIRST = ['Ana', 'Bo', 'Chidi', 'Dana', 'Emeka', 'Femke', 'Goran', 'Hiro', 'Ines', 'Jun', 'Kemal', 'Lea'];
const LAST = ['Okafor', 'Silva', 'Nguyen', 'Müller', 'García', 'Tanaka', 'Kowalski', 'Haddad', 'Dubois', 'Rossi'];
const DOMAINS = ['mastodon.social', 'fosstodon.org', 'hachyderm.io', 'chaos.social', 'mas.to', 'scholar.social'];

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const arr = (xs: string[]) => `ARRAY[${xs.map(lit).join(', ')}]::text[]`;

/**
 * `n` random words of the array `w`. The row's own columns in `n` or `w` make it run per row, not once; the
 * aggregate's argument is the inner query's, so it stays an aggregate of the inner query.
 */
const words = (w: string, n: string) =>
  `(SELECT string_agg(x.w, ' ') FROM (SELECT (${w})[1 + floor(random() * array_length(${w}, 1))::int] AS w ` +
  `FROM generate_series(1, ${n})) x)`;

/** A timestamp within the last three years, the same for each `g`. */
const when = (g: string) => `now() - (((${g}) * 104729) % 94608000) * interval '1 second'`;

function accountsSql(n: number, domain: string): string {
  return `
INSERT INTO accounts (username, domain, display_name, note, uri, created_at, updated_at)
SELECT u.username, u.domain, u.display_name, u.note,
  'https://' || coalesce(u.domain, ${lit(domain)}) || '/users/' || u.username, u.at, u.at
FROM (
  SELECT lower((${arr(FIRST)})[1 + (g * 7) % ${FIRST.length}]) || '_' || substr(md5(random()::text), 1, 8) AS username,
    CASE WHEN g % 3 = 0 THEN NULL ELSE (${arr(DOMAINS)})[1 + g % ${DOMAINS.length}] END AS domain,
    (${arr(FIRST)})[1 + (g * 7) % ${FIRST.length}] || ' ' || (${arr(LAST)})[1 + (g * 13) % ${LAST.length}]
      AS display_name,
    ${words(arr(WORDS.en), '4 + g % 30')} AS note,
    ${when('g')} AS at
  FROM generate_series(1, ${n}) AS g
) u
ON CONFLICT DO NOTHING;
INSERT INTO users (email, account_id, encrypted_password, confirmed_at, created_at, updated_at)
SELECT a.username || '@' || ${lit(domain)}, a.id, '$2a$10$' || md5(random()::text) || substr(md5(a.username), 1, 21),
  a.created_at, a.created_at, a.created_at
FROM accounts a WHERE a.domain IS NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id)
ON CONFLICT DO NOTHING;`;
}

function statusesSql(n: number, domain: string): string {
  const langs = Object.entries(WORDS);
  // Half in English, the rest spread over the other languages.
  const values = langs.map(([code, w], i) => `(${i}, ${lit(code)}, ${arr(w)})`).join(',\n    ');
  return `
WITH langs(i, code, words) AS (VALUES
    ${values}),
  ids AS (SELECT array_agg(id) AS a FROM accounts),
  base AS (SELECT coalesce(max(id), 0) AS m FROM statuses)
INSERT INTO statuses (uri, text, account_id, in_reply_to_id, visibility, local, language, created_at, updated_at)
SELECT 'https://' || ${lit(domain)} || '/statuses/fill-' || (base.m + s.g) || '-' || substr(md5(random()::text), 1, 6),
  ${words('l.words', '3 + (s.g % 11) * (1 + s.g % 7)')}
    || CASE WHEN s.g % 5 = 0 THEN ' https://example.org/' || substr(md5(random()::text), 1, 16) ELSE '' END
    || CASE WHEN s.g % 4 = 0 THEN ' #' || l.words[1 + s.g % array_length(l.words, 1)] ELSE '' END,
  ids.a[1 + floor(random() * array_length(ids.a, 1))::int],
  CASE WHEN base.m > 0 AND s.g % 3 = 0 THEN 1 + floor(random() * base.m)::bigint END,
  s.g % 4, s.g % 3 <> 0, l.code, ${when('base.m + s.g')}, ${when('base.m + s.g')}
FROM generate_series(1, ${n}) AS s(g)
  CROSS JOIN ids CROSS JOIN base
  JOIN langs l ON l.i = CASE WHEN s.g % 2 = 0 THEN 0 ELSE 1 + (s.g / 2) % ${langs.length - 1} END
ON CONFLICT DO NOTHING;`;
}

/** Mastodon's media_attachments columns this knows how to fill, when the schema has that table. */
const MEDIA_COLUMNS: Record<string, string> = {
  status_id: 's.id',
  account_id: 's.account_id',
  type: '0',
  file_file_name: "substr(md5(random()::text), 1, 16) || '.jpeg'",
  file_content_type: "'image/jpeg'",
  file_file_size: '50000 + floor(random() * 4000000)::int',
  file_updated_at: 's.created_at',
  shortcode: 'substr(md5(random()::text), 1, 20)',
  description: words(arr(WORDS.en), '5 + s.id % 20'),
  blurhash: "'U' || substr(md5(random()::text), 1, 27)",
  file_meta: `json_build_object(
    'original', json_build_object('width', m.w, 'height', m.h, 'size', m.w || 'x' || m.h, 'aspect', m.w::float / m.h),
    'small', json_build_object('width', 640, 'height', 640 * m.h / m.w, 'size', '640x' || 640 * m.h / m.w,
      'aspect', m.w::float / m.h),
    'focus', json_build_object('x', round((random() * 2 - 1)::numeric, 2), 'y', round((random() * 2 - 1)::numeric, 2))
  )`,
  created_at: 's.created_at',
  updated_at: 's.created_at',
};

function mediaSql(columns: string[], after: number): string {
  const cols = Object.keys(MEDIA_COLUMNS).filter((c) => columns.includes(c));
  if (!cols.includes('status_id')) return '';
  return `
INSERT INTO media_attachments (${cols.join(', ')})
SELECT ${cols.map((c) => MEDIA_COLUMNS[c]).join(', ')}
FROM statuses s CROSS JOIN LATERAL (SELECT 800 + (s.id % 9) * 160 AS w, 600 + (s.id % 7) * 120 AS h) m
WHERE s.id > ${after} AND s.id % 4 = 0;`;
}

interface Counts {
  accounts: number;
  statuses: number;
  media: number | null;
}

function counts(q: (sql: string) => string, media: boolean): Counts {
  const row = q(
    `SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM statuses),
      ${media ? '(SELECT count(*) FROM media_attachments)' : 'NULL'}`,
  )
    .trim()
    .split('|');
  return { accounts: Number(row[0]), statuses: Number(row[1]), media: media ? Number(row[2]) : null };
}

export interface FillResult {
  env: string;
  database: string;
  target: number;
  before: { bytes: number } & Counts;
  after: { bytes: number } & Counts;
}

export async function fillDatabase(
  dir: string,
  env: string,
  target: number,
  log: (line: string) => void = () => {},
): Promise<FillResult> {
  const layout = sandboxLayout(dir);
  const state = readState(layout.state);
  const names = state.hosts.filter((h) => h.kind === 'mastodon').map((h) => h.name);
  if (!names.includes(env)) throw new InputError(`ENV: ${unknownName('Mastodon environment', env, names)}`);
  const cfg = loadStandinConfig(layout.host(env));
  const cluster = hostCluster(layout.host(env), cfg);
  const db = cfg.postgres.database;
  const q = (sql: string) => {
    try {
      return psql(cluster, sql, db);
    } catch (err) {
      const stderr = String((err as { stderr?: Buffer }).stderr ?? err).trim();
      throw new Error(`${env}: filling ${db} failed: ${stderr} (is the sandbox up? coopctl sandbox up --dir ${dir})`);
    }
  };
  const size = () => Number(q('SELECT pg_database_size(current_database())').trim());
  const mediaColumns = q("SELECT column_name FROM information_schema.columns WHERE table_name = 'media_attachments'")
    .trim()
    .split('\n')
    .filter(Boolean);
  const media = mediaColumns.length > 0;
  const before = { bytes: size(), ...counts(q, media) };
  let bytes = before.bytes;
  // The first batch (a guessed 600 bytes a status, at most 5000) measures what a status costs here, with its
  // share of accounts and media; later batches aim with that.
  let perStatus = 0;
  const guess = 600;
  for (let batch = 0; bytes < target * 0.98; batch++) {
    if (batch >= 2000) throw new Error(`${env}: the database stopped growing at ${formatBytes(bytes)}`);
    const most = perStatus ? 100_000 : 5000;
    const n = Math.max(500, Math.min(most, Math.ceil((target - bytes) / (perStatus || guess))));
    const maxId = Number(q('SELECT coalesce(max(id), 0) FROM statuses').trim());
    const sql = [
      'BEGIN;',
      accountsSql(Math.max(1, Math.round(n / 40)), cfg.domain),
      statusesSql(n, cfg.domain),
      media ? mediaSql(mediaColumns, maxId) : '',
      'COMMIT;',
    ].join('\n');
    q(sql);
    const now = size();
    perStatus = Math.max(50, (now - bytes) / n);
    bytes = now;
    log(`${env}: ${formatBytes(bytes)} of ${formatBytes(target)}`);
  }
  const after = { bytes, ...counts(q, media) };
  return { env, database: db, target, before, after };
}
