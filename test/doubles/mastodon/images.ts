import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isSafeVersion } from '../../../src/kernel/validate.js';
import { standinPaths, type StandinConfig } from './config.js';

/**
 * "Images" of the sandbox: a Mastodon image tag is the fixture upstream's
 * tree at the git tag of the same name, materialised under R/images on pull.
 * Images not built from a fixture repository (postgres, redis) count as
 * present.
 */
export interface ImageRef {
  repository: string;
  tag: string;
}

// source: recorded real output of pulling a tag the registry lacks ("manifest for IMAGE not found: manifest
// unknown: manifest unknown"); images ghcr.io/mastodon/mastodon(-streaming):vX.Y.Z per mastodon/mastodon
// docker-compose.yml
export class ManifestUnknownError extends Error {
  constructor(readonly ref: string) {
    super('manifest unknown');
  }
}

export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf('@');
  const noDigest = at >= 0 ? ref.slice(0, at) : ref;
  const colon = noDigest.lastIndexOf(':');
  const [repository, tag] =
    colon > noDigest.lastIndexOf('/') ? [noDigest.slice(0, colon), noDigest.slice(colon + 1)] : [noDigest, 'latest'];
  if (!/^[a-z0-9][a-z0-9._/-]*$/.test(repository) || repository.includes('..') || !isSafeVersion(tag)) {
    throw new Error(`invalid reference format: ${ref}`);
  }
  return { repository, tag };
}

export function isBuiltFromFixture(cfg: StandinConfig, ref: string): boolean {
  return parseImageRef(ref).repository in cfg.registry;
}

export function imageDir(root: string, ref: string): string {
  const { repository, tag } = parseImageRef(ref);
  return path.join(standinPaths(root).images, repository, tag);
}

interface ImageMeta {
  image: string;
  commit: string;
  pulledAt: string;
}

function metaFile(root: string, ref: string): string {
  return `${imageDir(root, ref)}.json`;
}

export function imagePresent(root: string, cfg: StandinConfig, ref: string): boolean {
  return !isBuiltFromFixture(cfg, ref) || existsSync(metaFile(root, ref));
}

function git(repo: string, args: string[], input?: Buffer): Buffer {
  return execFileSync('git', ['-c', 'safe.directory=*', '-C', repo, ...args], {
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** The commit the tag names in the fixture upstream, or undefined when there is no such tag. */
function resolveTag(repo: string, tag: string): string | undefined {
  try {
    return git(repo, ['rev-parse', '-q', '--verify', `refs/tags/${tag}^{commit}`])
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

export type PullOutcome = { kind: 'present' } | { kind: 'up-to-date' } | { kind: 'downloaded'; layers: string[] };

/** Fetches the image if the fixture upstream has its tag; throws ManifestUnknownError otherwise. */
export function pullImage(root: string, cfg: StandinConfig, ref: string): PullOutcome {
  const { repository, tag } = parseImageRef(ref);
  const upstream = cfg.registry[repository];
  if (upstream === undefined) return { kind: 'present' };
  const commit = resolveTag(upstream, tag);
  if (!commit) throw new ManifestUnknownError(ref);
  const meta = metaFile(root, ref);
  const existing = existsSync(meta) ? (JSON.parse(readFileSync(meta, 'utf8')) as ImageMeta) : undefined;
  if (existing?.commit === commit) return { kind: 'up-to-date' };
  const dir = imageDir(root, ref);
  const tmp = `${dir}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['-x', '-C', tmp], { input: git(upstream, ['archive', '--format=tar', commit]) });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  writeFileSync(
    meta,
    `${JSON.stringify({ image: ref, commit, pulledAt: new Date().toISOString() } satisfies ImageMeta, null, 2)}\n`,
  );
  const digest = createHash('sha256').update(commit).digest('hex');
  return { kind: 'downloaded', layers: [0, 12, 24, 36].map((i) => digest.slice(i, i + 12)) };
}

// source: mastodon/mastodon lib/mastodon/version.rb (major/minor/patch, default_prerelease, and
// `ENV['MASTODON_VERSION_PRERELEASE'].presence || default_prerelease`, MASTODON_VERSION_METADATA)
/** What lib/mastodon/version.rb says, with the MASTODON_VERSION_PRERELEASE/_METADATA overrides Mastodon honours. */
export function imageVersion(dir: string, env: Record<string, string | undefined> = {}): string {
  const rb = readFileSync(path.join(dir, 'lib/mastodon/version.rb'), 'utf8');
  const num = (name: string) => {
    const m = new RegExp(`def ${name}\\s+(\\d+)\\s+end`).exec(rb);
    if (!m) throw new Error(`version.rb: no ${name}`);
    return m[1];
  };
  const prerelease = env.MASTODON_VERSION_PRERELEASE || /def default_prerelease\s+'([^']*)'/.exec(rb)?.[1] || '';
  const metadata = env.MASTODON_VERSION_METADATA || '';
  return `${num('major')}.${num('minor')}.${num('patch')}${prerelease ? `-${prerelease}` : ''}${metadata ? `+${metadata}` : ''}`;
}

export function imageApiVersion(dir: string): number | undefined {
  const rb = readFileSync(path.join(dir, 'lib/mastodon/version.rb'), 'utf8');
  const m = /mastodon:\s*(\d+)/.exec(rb);
  return m ? Number(m[1]) : undefined;
}

// source: mastodon/mastodon app/validators/status_length_validator.rb (MAX_CHARS = 500)
export function imageMaxChars(dir: string): number {
  const rb = readFileSync(path.join(dir, 'app/validators/status_length_validator.rb'), 'utf8');
  const m = /MAX_CHARS\s*=\s*(\d[\d_]*)/.exec(rb);
  if (!m) throw new Error('status_length_validator.rb: no MAX_CHARS');
  return Number(m[1].replace(/_/g, ''));
}

/** Records an image `docker build` made from `base` (its tree is already at imageDir(ref)). */
export function storeBuiltImage(root: string, ref: string, base: string): void {
  const from = JSON.parse(readFileSync(metaFile(root, base), 'utf8')) as ImageMeta;
  const meta: ImageMeta = { image: ref, commit: from.commit, pulledAt: new Date().toISOString() };
  writeFileSync(metaFile(root, ref), `${JSON.stringify({ ...meta, builtFrom: base }, null, 2)}\n`);
}
