import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { interpolate } from './envFile.js';
import { fatal } from './fatal.js';
import { compareVersions, isOrdered, parseVersion, releaseNotePath, type OrderedVersion } from './versions.js';

export interface RecipeRelease {
  tag: string;
  version: OrderedVersion;
}

/** A compose service after merging the app's compose files and interpolating its env. */
export interface ComposeService {
  name: string;
  image?: string;
  labels: Record<string, string>;
  volumes: string[];
}

/** abra's clone of a recipe in `$ABRA_DIR/recipes/<recipe>`: one shared working tree. */
export class RecipeRepo {
  readonly dir: string;
  constructor(
    abraDir: string,
    readonly name: string,
  ) {
    this.dir = path.join(abraDir, 'recipes', name);
  }

  get exists(): boolean {
    return existsSync(path.join(this.dir, '.git'));
  }

  private git(args: readonly string[]): string {
    return execFileSync('git', ['-C', this.dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  private tryGit(args: readonly string[]): string | undefined {
    try {
      return this.git(args);
    } catch {
      return undefined;
    }
  }

  requireExists(): this {
    if (!this.exists) fatal(`unable to find recipe ${this.name}: run "abra recipe fetch ${this.name}"`);
    return this;
  }

  /** Published versions, oldest first (tags that are not versions are ignored, as abra does). */
  releases(): RecipeRelease[] {
    const out: RecipeRelease[] = [];
    for (const tag of this.git(['tag', '--list']).split('\n').filter(Boolean)) {
      const version = parseVersion(tag);
      if (version && isOrdered(version)) out.push({ tag, version });
    }
    return out.sort((a, b) => compareVersions(a.version, b.version));
  }

  release(tag: string): RecipeRelease | undefined {
    return this.releases().find((r) => r.tag === tag);
  }

  /** A file at a release tag, or in the working tree when `tag` is undefined (chaos). */
  readAt(tag: string | undefined, file: string): string | undefined {
    if (tag === undefined) {
      const p = path.join(this.dir, file);
      return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
    }
    return this.tryGit(['cat-file', 'blob', `refs/tags/${tag}:${file}`]);
  }

  // source: coop-cloud/bonfire release/ (plain files named by the exact tag; not every version has one)
  releaseNote(target: string, version: string): string | undefined {
    return (
      (this.readAt(target, releaseNotePath(version)) ?? this.readAt(version, releaseNotePath(version)))?.trim() ||
      undefined
    );
  }

  uncommittedChanges(): string[] {
    return this.git(['status', '--porcelain'])
      .split('\n')
      .filter((l) => l.trim());
  }

  // source: operators' notes (reference/abra.md, C): without -C a dirty checkout is refused, "has locally unstaged
  // changes"; one shared working tree per recipe (C)
  requireClean(): void {
    if (this.uncommittedChanges().length) {
      fatal(
        `${this.name} (${this.dir}) has locally unstaged changes? please commit/remove your changes before proceeding`,
      );
    }
  }

  /** The tag's date (the tagger's, for an annotated tag), ISO 8601. */
  releaseDate(tag: string): string {
    return this.git(['for-each-ref', '--format=%(creatordate:iso-strict)', `refs/tags/${tag}`]).trim();
  }

  checkout(tag: string): void {
    this.git(['checkout', '-q', '--detach', `refs/tags/${tag}`]);
  }

  /** The chaos version of the working tree: 8 hex of HEAD, `+U` when it has uncommitted changes. */
  chaosVersion(): string {
    const head = this.git(['rev-parse', '--short=8', 'HEAD']).trim().slice(0, 8);
    return this.uncommittedChanges().length ? `${head}+U` : head;
  }

  // source: https://docs.docker.com/compose/how-tos/multiple-compose-files/ (COMPOSE_FILE, ':'-separated, merged
  // in order); bonfire's .env.sample enables overlays this way (compose.postgres.yml, compose.auth.openid.yml)
  /** The app's compose files (COMPOSE_FILE, default compose.yml) at `tag`, merged per service. */
  services(tag: string | undefined, vars: Record<string, string>): ComposeService[] {
    const files = (vars.COMPOSE_FILE || 'compose.yml').split(':').filter(Boolean);
    const merged = new Map<string, ComposeService>();
    for (const file of files) {
      const text =
        this.readAt(tag, file) ??
        fatal(`${file} does not exist in recipe ${this.name} at ${tag ?? 'its working tree'}`);
      const doc = (parseYaml(text) ?? {}) as { services?: Record<string, Record<string, unknown> | null> };
      for (const [name, raw] of Object.entries(doc.services ?? {})) {
        const svc = merged.get(name) ?? { name, labels: {}, volumes: [] };
        const def = raw ?? {};
        if (typeof def.image === 'string') svc.image = interpolate(def.image, vars);
        const labels = (def.deploy as { labels?: unknown } | undefined)?.labels;
        for (const [k, v] of labelEntries(labels)) svc.labels[interpolate(k, vars)] = interpolate(v, vars);
        for (const vol of (def.volumes as unknown[] | undefined) ?? []) {
          const source = typeof vol === 'string' ? vol.split(':')[0] : (vol as { source?: string }).source;
          if (source && !source.startsWith('/') && !source.startsWith('.')) svc.volumes.push(source);
        }
        merged.set(name, svc);
      }
    }
    return [...merged.values()];
  }
}

function labelEntries(labels: unknown): Array<[string, string]> {
  if (Array.isArray(labels)) {
    return labels.map((l) => {
      const s = String(l);
      const eq = s.indexOf('=');
      return eq < 0 ? [s, ''] : [s.slice(0, eq), s.slice(eq + 1)];
    });
  }
  if (labels && typeof labels === 'object') return Object.entries(labels).map(([k, v]) => [k, String(v)]);
  return [];
}
