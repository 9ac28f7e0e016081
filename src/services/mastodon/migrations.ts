import { OperationError, ToolOutputError } from '../../kernel/errors.js';
import { psqlQuery } from '../../remote/compose.js';
import type { SchemaFit } from '../../targets/profile.js';
import type { Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';
import { listFilesAtTag } from '../../versions/gitTags.js';
import { upstreamOf } from './config.js';
import { parseMastodonVersion, tagOf } from './version.js';

/**
 * Mastodon's two kinds of migrations: db/migrate runs before the new code starts and is written so that the
 * running (older) code goes on working on it; db/post_migrate runs once the new code runs and removes what
 * only the older code used. Read from the version source at the release's tag, as the image was built from it.
 */
interface Migrations {
  pre: Set<string>;
  post: Set<string>;
}

const versionsIn = (files: string[]) => files.flatMap((f) => /^(\d+)_\w+\.\w+$/.exec(f)?.[1] ?? []);

function migrationsAt(context: RunContext, t: Target, version: string): Promise<Migrations> {
  const parsed = parseMastodonVersion(version, 'version');
  if (parsed.metadata !== undefined)
    throw new OperationError(`${version} is not an upstream release: its migrations are not known`);
  const url = context.gitUrl(upstreamOf(t));
  return context.once(`mastodon-migrations:${url}:${version}`, async () => {
    const list = (folder: string) => listFilesAtTag({ runner: context.runner }, url, tagOf(parsed), folder);
    const [pre, post] = await Promise.all([list('db/migrate'), list('db/post_migrate')]);
    if (!pre.length) throw new ToolOutputError(`no db/migrate at ${tagOf(parsed)}: not a Mastodon tree`);
    return { pre: new Set(versionsIn(pre)), post: new Set(versionsIn(post)) };
  });
}

async function appliedMigrations(t: Target): Promise<string[]> {
  if (!t.database) throw new ToolOutputError(`${t.service}: no database configured`);
  const sql = 'select version from schema_migrations order by version';
  const r = await t.remote.exec(psqlQuery(t.database, sql), { mutates: false, timeoutMs: 60_000 });
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

const list = (vs: string[]) => (vs.length > 3 ? `${vs.slice(0, 3).join(', ')}, …` : vs.join(', '));

/** Whether `older` runs on the database now: every applied migration it does not know is a db/migrate of `newer`. */
export async function mastodonSchemaFit(
  context: RunContext,
  t: Target,
  older: string,
  newer: string,
): Promise<SchemaFit> {
  const [applied, known, next] = await Promise.all([
    appliedMigrations(t),
    migrationsAt(context, t, older),
    migrationsAt(context, t, newer),
  ]);
  const extra = applied.filter((v) => !known.pre.has(v) && !known.post.has(v));
  const post = extra.filter((v) => next.post.has(v));
  const unknown = extra.filter((v) => !next.post.has(v) && !next.pre.has(v));
  const pre = extra.filter((v) => next.pre.has(v));
  let reason: string;
  if (post.length) reason = `post-deployment migrations of ${newer} ran (${list(post)}): ${older} cannot run on them`;
  else if (unknown.length) reason = `migrations neither ${older} nor ${newer} has ran (${list(unknown)})`;
  else if (pre.length)
    reason = `only pre-deployment migrations of ${newer} ran (${list(pre)}), made for ${older} to run on`;
  else reason = `no migration ${older} does not know ran`;
  return { fits: !post.length && !unknown.length, reason, pre, post, unknown };
}
