import {
  asMastodonVersion,
  compareMastodonVersions,
  tryParseMastodonVersion,
  type MastodonVersion,
  type VersionLike,
} from './version.js';

/**
 * Upstream CHANGELOG.md, one `## [4.4.8] - 2025-10-21` section per version
 * (also `## 4.4.8 - …`), with `### Security`, `### Added`, … subsections.
 */
interface ChangelogSubsection {
  title: string;
  text: string;
}

export interface ChangelogSection {
  /** As written in the heading: `4.4.8`. */
  version: string;
  parsed: MastodonVersion;
  /** `YYYY-MM-DD` when the heading has one. */
  date?: string;
  /** Text before the first subsection. */
  opening: string;
  subsections: ChangelogSubsection[];
  /** A Security subsection, or security/vulnerability/GHSA mentioned in the opening. */
  security: boolean;
  /** The whole section body, without its heading. */
  text: string;
}

const VERSION_HEADING = /^##\s+\[?\s*([^\]\s]+)\s*\]?(.*)$/;
const SUBSECTION_HEADING = /^###\s+(.+?)\s*#*\s*$/;
const FENCE = /^\s*(```|~~~)/;
const SECURITY_WORDS = /\bsecurity\b|vulnerabilit|\bGHSA-|\bCVE-\d/i;

interface Draft {
  version: string;
  parsed: MastodonVersion;
  date?: string;
  lines: string[];
}

/**
 * Sections in file order; headings that are not versions (`## [Unreleased]`) end the previous section and are
 * skipped.
 */
export function parseChangelog(markdown: string): ChangelogSection[] {
  const drafts: Draft[] = [];
  let current: Draft | undefined;
  let inFence = false;
  for (const line of markdown.split(/\r?\n/)) {
    if (FENCE.test(line)) inFence = !inFence;
    const heading = inFence ? null : VERSION_HEADING.exec(line);
    if (heading) {
      const parsed = tryParseMastodonVersion(heading[1]);
      current = parsed
        ? { version: heading[1].replace(/^v/, ''), parsed, date: /\d{4}-\d{2}-\d{2}/.exec(heading[2])?.[0], lines: [] }
        : undefined;
      if (current) drafts.push(current);
      continue;
    }
    current?.lines.push(line);
  }
  return drafts.map(finish);
}

function finish(d: Draft): ChangelogSection {
  const opening: string[] = [];
  const subsections: { title: string; lines: string[] }[] = [];
  let inFence = false;
  for (const line of d.lines) {
    if (FENCE.test(line)) inFence = !inFence;
    const sub = inFence ? null : SUBSECTION_HEADING.exec(line);
    if (sub) subsections.push({ title: sub[1], lines: [] });
    else (subsections.at(-1)?.lines ?? opening).push(line);
  }
  const openingText = opening.join('\n').trim();
  const subs = subsections.map((s) => ({ title: s.title, text: s.lines.join('\n').trim() }));
  return {
    version: d.version,
    parsed: d.parsed,
    date: d.date,
    opening: openingText,
    subsections: subs,
    security: subs.some((s) => /^security\b/i.test(s.title)) || SECURITY_WORDS.test(openingText),
    text: d.lines.join('\n').trim(),
  };
}

/** The subsection whose title starts with `title` (case-insensitive): `Upgrade notes`, `Security`. */
export function subsection(section: ChangelogSection, title: string): ChangelogSubsection | undefined {
  const want = title.toLowerCase();
  return section.subsections.find((s) => s.title.toLowerCase().startsWith(want));
}

/** Every section with from < version ≤ to, newest first (what one reads before upgrading from → to). */
export function notesBetween(
  sections: readonly ChangelogSection[],
  from: VersionLike,
  to: VersionLike,
): ChangelogSection[] {
  const lo = asMastodonVersion(from, 'from');
  const hi = asMastodonVersion(to, 'to');
  return sections
    .filter((s) => compareMastodonVersions(s.parsed, lo) > 0 && compareMastodonVersions(s.parsed, hi) <= 0)
    .sort((a, b) => compareMastodonVersions(b.parsed, a.parsed));
}

/** The section of one version (metadata ignored), if the changelog has it. */
export function sectionFor(
  sections: readonly ChangelogSection[],
  version: MastodonVersion,
): ChangelogSection | undefined {
  return sections.find((s) => compareMastodonVersions(s.parsed, version) === 0);
}
