import { UPSTREAM_MAX_CHARS, type FixtureRelease } from './upstreamReleases.js';

/** The files of one fixture tree, written the way upstream writes them. */

export function splitFixtureVersion(version: string): { major: number; minor: number; patch: number; prerelease: string } {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.]+))?$/.exec(version);
  if (!m) throw new Error(`fixture version ${version} is not MAJOR.MINOR.PATCH[-PRE]`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ?? '' };
}

export function versionRb(release: FixtureRelease): string {
  const v = splitFixtureVersion(release.version);
  return `# frozen_string_literal: true

module Mastodon
  module Version
    module_function

    def major
      ${v.major}
    end

    def minor
      ${v.minor}
    end

    def patch
      ${v.patch}
    end

    def default_prerelease
      '${v.prerelease}'
    end

    def prerelease
      version_configuration[:prerelease].presence || default_prerelease
    end

    def build_metadata
      version_configuration[:metadata]
    end

    def to_a
      [major, minor, patch].compact
    end

    def to_s
      components = [to_a.join('.')]
      components << "-#{prerelease}" if prerelease.present?
      components << "+#{build_metadata}" if build_metadata.present?
      components.join
    end

    def gem_version
      @gem_version ||= Gem::Version.new(to_s.split('+')[0])
    end

    def api_versions
      {
        mastodon: ${release.apiVersion},
      }
    end

    def repository
      source_configuration[:repository]
    end

    def source_base_url
      source_configuration[:base_url] || "https://github.com/#{repository}"
    end

    # specify git tag or commit hash here
    def source_tag
      source_configuration[:tag]
    end

    def source_url
      if source_tag
        "#{source_base_url}/tree/#{source_tag}"
      else
        source_base_url
      end
    end

    def version_configuration
      mastodon_configuration.version
    end

    def source_configuration
      mastodon_configuration.source
    end

    def mastodon_configuration
      Rails.configuration.x.mastodon
    end
  end
end
`;
}

export function statusLengthValidatorRb(maxChars = UPSTREAM_MAX_CHARS): string {
  return `# frozen_string_literal: true

class StatusLengthValidator < ActiveModel::Validator
  MAX_CHARS = ${maxChars}
  URL_PLACEHOLDER_CHARS = 23
  URL_PLACEHOLDER = 'x' * 23

  def validate(status)
    return unless status.local? && !status.reblog?

    status.errors.add(:text, I18n.t('statuses.over_character_limit', max: MAX_CHARS)) if too_long?(status)
  end

  private

  def too_long?(status)
    countable_length(combined_text(status)) > MAX_CHARS
  end

  def countable_length(str)
    str.mb_chars.grapheme_length
  end

  def combined_text(status)
    [status.spoiler_text, countable_text(status.text)].join
  end

  def countable_text(str)
    return '' if str.blank?

    # To ensure that we only give length concessions to entities that
    # will be correctly parsed during formatting, we go through full
    # entity extraction

    entities = Extractor.remove_overlapping_entities(Extractor.extract_urls_with_indices(str, extract_url_without_protocol: false) + Extractor.extract_mentions_or_lists_with_indices(str))

    rewrite_entities(str, entities) do |entity|
      if entity[:url]
        URL_PLACEHOLDER
      elsif entity[:screen_name]
        "@#{entity[:screen_name].split('@').first}"
      end
    end
  end

  def rewrite_entities(str, entities)
    entities.sort_by! { |entity| entity[:indices].first }
    result = +''

    last_index = entities.reduce(0) do |index, entity|
      result << str[index...entity[:indices].first]
      result << yield(entity)
      entity[:indices].last
    end

    result << str[last_index..]
    result
  end
end
`;
}

/** CHANGELOG.md at a tag: every released version up to it, newest first. */
export function changelogMd(releasesUpToTag: readonly FixtureRelease[]): string {
  const sections = releasesUpToTag
    .filter((r) => r.changelog !== undefined)
    .reverse()
    .map((r) => `## [${r.version}] - ${r.date.slice(0, 10)}\n\n${r.changelog}\n`);
  return ['# Changelog\n', 'All notable changes to this project will be documented in this file.\n', ...sections].join('\n');
}

export const README_MD = `<h1><picture><img alt="Mastodon" src="./lib/assets/wordmark.light.png" height="34"></picture></h1>

Mastodon is a **free, open-source social network server** based on ActivityPub where users can follow friends and discover new ones.

This is a small fixture copy of the upstream repository for the coopctl sandbox: it keeps the
files an upgrade looks at (\`lib/mastodon/version.rb\`, \`CHANGELOG.md\`, \`db/migrate\`,
\`db/post_migrate\`, \`app/validators/status_length_validator.rb\`, \`.ruby-version\`).

## License

Copyright (c) 2016-2026 Eugen Rochko (+ [\`mastodon authors\`](AUTHORS.md))

Licensed under GNU Affero General Public License as stated in the [LICENSE](LICENSE).
`;
