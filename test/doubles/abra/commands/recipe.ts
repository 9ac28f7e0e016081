import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { flag, type ParsedArgs } from '../args.js';
import { fatal } from '../fatal.js';
import { abraDir, readDoubleConfig } from '../home.js';
import { info, out } from '../log.js';
import { RecipeRepo } from '../recipeRepo.js';
import { boxTable } from '../table.js';

function splitImage(image: string): { image: string; tag: string } {
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/')
    ? { image: image.slice(0, colon), tag: image.slice(colon + 1) }
    : { image, tag: 'latest' };
}

// source: operators' notes (reference/abra.md, U): `abra recipe versions RECIPE [-m]` (catalogue versions with
// each service's image) and `abra recipe fetch RECIPE` (clone or pull); shapes unconfirmed, parsed tolerantly
/** `abra recipe versions`: each release with the image of every service (defaults resolved), oldest first. */
function versions(args: ParsedArgs): void {
  const name = args.positionals[0] ?? fatal('no recipe provided');
  const repo = new RecipeRepo(abraDir(), name).requireExists();
  const rows = repo.releases().flatMap((r) =>
    repo
      .services(r.tag, {})
      .filter((s) => s.image)
      .map((s) => ({ version: r.tag, service: s.name, ...splitImage(s.image!) })),
  );
  if (flag(args, 'machine')) out(JSON.stringify(rows));
  else
    out(
      boxTable(
        ['VERSION', 'SERVICE', 'IMAGE', 'TAG'],
        rows.map((r) => [r.version, r.service, r.image, r.tag]),
      ),
    );
}

/** `abra recipe fetch`: clone from the catalogue when missing, else fetch new tags from its remote. */
function fetch(args: ParsedArgs): void {
  const name = args.positionals[0] ?? fatal('no recipe provided');
  const dir = abraDir();
  const repo = new RecipeRepo(dir, name);
  const git = (argv: string[]) => execFileSync('git', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (!repo.exists) {
    const source =
      readDoubleConfig(dir).recipeSources?.[name] ??
      fatal(`unable to fetch recipe ${name}: it is not in the catalogue`);
    mkdirSync(path.dirname(repo.dir), { recursive: true });
    git(['clone', '-q', source, repo.dir]);
    info(`fetched ${name} into ${repo.dir}`);
    return;
  }
  let remote = '';
  try {
    remote = git(['-C', repo.dir, 'remote']).trim();
  } catch {
    remote = '';
  }
  if (!remote.split('\n').includes('origin')) {
    info(`${name} has no remote to fetch from: using the local clone as it is`);
    return;
  }
  try {
    git(['-C', repo.dir, 'fetch', '-q', '--tags', 'origin']);
  } catch (err) {
    fatal(`unable to fetch recipe ${name}: ${String((err as { stderr?: string }).stderr ?? err).trim()}`);
  }
  info(`fetched latest git changes for ${name}`);
}

export async function recipeCommand(sub: string | undefined, args: ParsedArgs): Promise<void> {
  if (sub === 'versions' || sub === 'v') return versions(args);
  if (sub === 'fetch' || sub === 'f') return fetch(args);
  fatal(`unknown command "${sub ?? ''}" for "abra recipe" (versions, fetch)`);
}
