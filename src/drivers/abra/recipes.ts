import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../../kernel/errors.js';
import type { ProcessRunner } from '../../kernel/process.js';
import { assertName, assertVersion } from '../../kernel/validate.js';
import { parseTagListing, releaseNotePath, TAG_LIST_ARGS } from './recipeTags.js';
import {
  compareRecipeVersions,
  isOrdered,
  parseRecipeVersion,
  versionsInRange,
  type OrderedRecipeVersion,
} from './recipeVersion.js';

/** A published version of a recipe, from the git tags of abra's local clone. */
export interface RecipeRelease {
  version: string;
  parsed: OrderedRecipeVersion;
  annotated: boolean;
  date?: string;
  message?: string;
}

export interface ReleaseNote {
  version: string;
  /** undefined: this version has no `release/<version>` file (not every version does). */
  notes?: string;
}

export interface RecipeCheckout {
  clean: boolean;
  /** `git status --porcelain` lines. */
  changes: string[];
}

/** Read-only access to abra's recipe clones in `$ABRA_DIR/recipes/<recipe>`, through the process runner. */
export class RecipeRepos {
  constructor(
    private readonly runner: ProcessRunner,
    private readonly abraDir: string,
  ) {}

  dir(recipe: string): string {
    const d = path.join(this.abraDir, 'recipes', assertName(recipe, 'recipe'));
    if (!existsSync(path.join(d, '.git'))) {
      throw new InputError(`recipe "${recipe}" is not in ${path.join(this.abraDir, 'recipes')}`, {
        code: 'recipe-missing',
        hints: [`fetch it first: abra recipe fetch ${recipe}`],
      });
    }
    return d;
  }

  private async git(recipe: string, args: readonly string[], reject = true) {
    return this.runner.run('git', ['--no-optional-locks', '-C', this.dir(recipe), ...args], {
      mutates: false,
      timeoutMs: 30_000,
      env: { GIT_TERMINAL_PROMPT: '0' },
      reject,
    });
  }

  /** Every tag that is a recipe version, oldest first (ordered by the semver part before `+`). */
  async versions(recipe: string): Promise<RecipeRelease[]> {
    const { stdout } = await this.git(recipe, TAG_LIST_ARGS);
    const releases: RecipeRelease[] = [];
    for (const tag of parseTagListing(stdout)) {
      const parsed = parseRecipeVersion(tag.name);
      if (!parsed || !isOrdered(parsed)) continue;
      releases.push({ version: tag.name, parsed, annotated: tag.annotated, date: tag.date, message: tag.subject });
    }
    return releases.sort((a, b) => compareRecipeVersions(a.parsed, b.parsed));
  }

  private async readAt(recipe: string, tag: string, file: string): Promise<string | undefined> {
    const r = await this.git(recipe, ['cat-file', 'blob', `refs/tags/${tag}:${file}`], false);
    return r.exitCode === 0 ? r.stdout : undefined;
  }

  /** A file of the recipe's tree at a release tag; undefined when the tag or the file is not there. */
  fileAt(recipe: string, tag: string, file: string): Promise<string | undefined> {
    return this.readAt(recipe, assertVersion(tag, 'version'), file);
  }

  /**
   * Release notes of every version v with from < v ≤ to, newest first. A `from`
   * that is not an ordered version (chaos, unknown) yields only `to`'s note.
   */
  async releaseNotes(recipe: string, from: string | undefined, to: string): Promise<ReleaseNote[]> {
    assertVersion(to, 'version');
    const all = await this.versions(recipe);
    const target = all.find((r) => r.version === to);
    if (!target) {
      throw new InputError(
        `${to} is not a version of recipe ${recipe} (known: ${all.map((r) => r.version).join(', ') || 'none'})`,
      );
    }
    const fromParsed = from === undefined ? undefined : parseRecipeVersion(from);
    const range =
      from !== undefined && (!fromParsed || !isOrdered(fromParsed))
        ? [target.parsed]
        : versionsInRange(
            all.map((r) => r.parsed),
            fromParsed as OrderedRecipeVersion | undefined,
            target.parsed,
          );
    const notes: ReleaseNote[] = [];
    for (const v of range.reverse()) {
      // The target's tree normally carries every earlier note; a note may also exist only at its own tag.
      const text =
        (await this.readAt(recipe, to, releaseNotePath(v.text))) ??
        (await this.readAt(recipe, v.text, releaseNotePath(v.text)));
      notes.push({ version: v.text, notes: text?.trim() || undefined });
    }
    return notes;
  }

  /**
   * The commits of a chaos deploy's checkout (`commit`, abra's 8 hex) that release `tag` lacks, newest first, as
   * `<short hash> <subject>`; undefined when this clone does not have the commit (a fork's remote not fetched).
   */
  async commitsNotIn(recipe: string, commit: string, tag: string): Promise<string[] | undefined> {
    if (!/^[0-9a-f]{7,40}$/.test(commit)) return undefined;
    const known = await this.git(recipe, ['cat-file', '-e', `${commit}^{commit}`], false);
    if (known.exitCode !== 0) return undefined;
    const r = await this.git(recipe, [
      'log',
      '--format=%h %s',
      commit,
      `^refs/tags/${assertVersion(tag, 'version')}`,
      '--',
    ]);
    return r.stdout.split('\n').filter((l) => l.trim());
  }

  /** Checks `commit` out in abra's clone (what a chaos deploy deploys); changes the shared working tree. */
  async checkoutCommit(recipe: string, commit: string): Promise<void> {
    if (!/^[0-9a-f]{7,40}$/.test(commit)) throw new InputError(`"${commit}" is not a commit`);
    await this.runner.run('git', ['-C', this.dir(recipe), 'checkout', '-q', '--detach', commit], {
      mutates: true,
      timeoutMs: 30_000,
      env: { GIT_TERMINAL_PROMPT: '0' },
    });
  }

  /** abra refuses to deploy from a dirty shared checkout; this says whether it would. */
  async checkout(recipe: string): Promise<RecipeCheckout> {
    const { stdout } = await this.git(recipe, ['status', '--porcelain']);
    const changes = stdout.split('\n').filter((l) => l.trim());
    return { clean: changes.length === 0, changes };
  }
}
