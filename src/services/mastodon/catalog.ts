import { errorMessage } from '../../kernel/errors.js';
import { parseChangelog, sectionFor, type ChangelogSection } from './changelog.js';
import {
  displayUrl,
  listVersionTags,
  normalizeGitUrl,
  readFileAtTag,
  type GitSourceOptions,
  type VersionTag,
} from '../../versions/gitTags.js';
import {
  asMastodonVersion,
  compareMastodonVersions,
  compareSeries,
  displayOf,
  seriesOf,
  tagOf,
  tryParseMastodonVersion,
  type MastodonVersion,
  type VersionLike,
} from './version.js';

type MastodonTag = VersionTag<MastodonVersion>;

/** The tags that are Mastodon versions, ascending; other tags are ignored. */
export function listMastodonTags(opts: GitSourceOptions, url: string): Promise<MastodonTag[]> {
  return listVersionTags(opts, url, {
    // A version tag carries no metadata; `v4.3.0+glitch` is not an upstream release.
    parse: (name) => {
      const v = tryParseMastodonVersion(name);
      return v?.metadata === undefined ? v : undefined;
    },
    compare: compareMastodonVersions,
  });
}

interface CatalogEntry {
  /** As upstream spells it (and the instance API reports it): `4.4.8`, `4.5.0-rc.1`. */
  version: string;
  tag: string;
  series: string;
  prerelease: boolean;
  /** The version's CHANGELOG section has a Security subsection or mentions security. */
  security: boolean;
  isCurrent: boolean;
  /** Higher than the current version (false when the current version is unknown). */
  newer: boolean;
  /** Release date from the CHANGELOG heading. */
  date?: string;
  notes?: ChangelogSection;
  parsed: MastodonVersion;
}

export interface MastodonCatalog {
  /** The current version as given (`4.3.0+glitch` keeps its metadata). */
  current?: string;
  /** Newest first, by version (never by date). */
  versions: CatalogEntry[];
  /** Things the operator should know: CHANGELOG unreadable, current version not upstream, ... */
  warnings: string[];
}

interface ListVersionsOptions extends GitSourceOptions {
  url: string;
  changelogPath?: string;
  current?: VersionLike;
  includePrerelease?: boolean;
  /**
   * Which entries get their CHANGELOG section attached (default: those newer than current; all when current is
   * unknown).
   */
  notes?: 'newer' | 'all' | 'none';
}

/**
 * Reads the CHANGELOG at the newest tag, and, for a series with upgrade
 * candidates missing there (patches of older series are released from their
 * own branch), once more at that series' newest tag.
 */
async function loadChangelog(
  opts: ListVersionsOptions,
  tags: readonly MastodonTag[],
  current: MastodonVersion | undefined,
  warnings: string[],
): Promise<ChangelogSection[]> {
  const file = opts.changelogPath ?? 'CHANGELOG.md';
  const sections: ChangelogSection[] = [];
  const read = async (tag: MastodonTag) => {
    try {
      const text = await readFileAtTag(opts, opts.url, tag.name, file);
      if (text === undefined)
        warnings.push(`${file} does not exist at ${tag.name}: no release notes or security flags for it`);
      else for (const s of parseChangelog(text)) if (!sectionFor(sections, s.parsed)) sections.push(s);
    } catch (err) {
      warnings.push(`cannot read ${file} at ${tag.name}: ${errorMessage(err)}`);
    }
  };
  const newest = tags.at(-1);
  if (!newest) return sections;
  await read(newest);
  if (!current) return sections;
  const newestPerSeries = new Map<string, MastodonTag>();
  for (const t of tags) if (t.version.stable) newestPerSeries.set(seriesOf(t.version), t);
  for (const [, t] of newestPerSeries) {
    const wanted = tags.some(
      (o) =>
        o.version.stable &&
        compareSeries(o.version, t.version) === 0 &&
        compareMastodonVersions(o.version, current) > 0 &&
        !sectionFor(sections, o.version),
    );
    if (wanted && t !== newest) await read(t);
  }
  return sections;
}

/** The versions a service could move to, from upstream's tags, with release notes and security flags. */
export async function listMastodonVersions(opts: ListVersionsOptions): Promise<MastodonCatalog> {
  const current = opts.current === undefined ? undefined : asMastodonVersion(opts.current, 'current version');
  const warnings: string[] = [];
  const tags = await listMastodonTags(opts, opts.url);
  const sections = await loadChangelog(opts, tags, current, warnings);
  const isCurrent = (v: MastodonVersion) => current !== undefined && compareMastodonVersions(v, current) === 0;
  if (current && !tags.some((t) => isCurrent(t.version))) {
    warnings.push(`the current version ${displayOf(current)} is not a tag of ${displayUrl(normalizeGitUrl(opts.url))}`);
  }
  const notes = opts.notes ?? 'newer';
  const versions = tags
    .filter((t) => t.version.stable || opts.includePrerelease || isCurrent(t.version))
    .reverse()
    .map((t): CatalogEntry => {
      const v = t.version;
      const section = sectionFor(sections, v);
      const newer = current !== undefined && compareMastodonVersions(v, current) > 0;
      const withNotes = notes === 'all' || (notes === 'newer' && (newer || current === undefined));
      return {
        version: v.upstream,
        tag: t.name,
        series: seriesOf(v),
        prerelease: !v.stable,
        security: section?.security ?? false,
        isCurrent: isCurrent(v),
        newer,
        date: section?.date,
        notes: withNotes ? section : undefined,
        parsed: v,
      };
    });
  return { current: current && displayOf(current), versions, warnings };
}

interface SeriesGroup {
  series: string;
  /** Newest first. */
  versions: CatalogEntry[];
}

/** Entries grouped by minor series, newest series first (several series get patches in parallel). */
export function groupBySeries(entries: readonly CatalogEntry[]): SeriesGroup[] {
  const groups = new Map<string, CatalogEntry[]>();
  const ordered = [...entries].sort((a, b) => compareMastodonVersions(b.parsed, a.parsed));
  for (const e of ordered) {
    const list = groups.get(e.series) ?? [];
    list.push(e);
    groups.set(e.series, list);
  }
  return [...groups].map(([series, versions]) => ({ series, versions }));
}

/** The tag to check out for a version the operator typed (`4.4.8` → `v4.4.8`, `4.2.0-rc1` → `v4.2.0-rc1`). */
export function tagFor(version: VersionLike, tags: readonly MastodonTag[]): string {
  const v = asMastodonVersion(version, '--to');
  return tags.find((t) => compareMastodonVersions(t.version, v) === 0)?.name ?? tagOf(v);
}
