import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PRIVATE_DIR } from '../kernel/files.js';
import { InputError, RemoteError } from '../kernel/errors.js';
import type { ProcessRunner, RunResult } from '../kernel/process.js';
import { assertVersion } from '../kernel/validate.js';

/**
 * Versions of an upstream git repository, read without a working tree:
 * `git ls-remote` for the tag list, and a bare mirror in coopctl's cache for
 * files at a tag. The mirror is coopctl's own local state, not a change to
 * anything it manages, so every call here is `mutates: false` and also runs
 * under --dry-run.
 */
export interface GitSourceOptions {
  runner: ProcessRunner;
  /** Where XDG_CACHE_HOME / HOME come from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Refetch the mirror when its last fetch is older than this (default 15 min). */
  ttlMs?: number;
  /** Timeout of each network call: ls-remote, fetch, lazy blob fetch (default 120 s). */
  timeoutMs?: number;
  /** Timeout of the first clone (default 15 min). */
  cloneTimeoutMs?: number;
  now?: () => number;
}

interface RemoteTag {
  name: string;
  /** The object the tag ref points to (the tag object for annotated tags). */
  object: string;
}

export interface VersionTag<V> extends RemoteTag {
  version: V;
}

/** How an application names and orders its releases; tags that do not parse are not releases. */
interface TagScheme<V> {
  parse(tag: string): V | undefined;
  compare(a: V, b: V): number;
}

const DEFAULT_TTL_MS = 15 * 60_000;
const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_CLONE_TIMEOUT_MS = 15 * 60_000;
const STAMP = 'coopctl-fetched';
// Never wait for a password prompt nobody will answer; stable messages to parse.
const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };

const SCHEME_URL = /^(https?|ssh|git|file):\/\/[^\s]+$/;
const SCP_URL = /^[\w.-]+@[\w.-]+:[^\s]+$/;

/**
 * Accepts https/ssh/git/file URLs, `user@host:path`, and local paths (made
 * absolute). Refuses what could reach git as an option or run a command
 * (`-…`, `ext::…` and other `transport::` forms).
 */
export function normalizeGitUrl(url: string, what = 'versions.url'): string {
  const bad = (why: string) => new InputError(`${what}: ${JSON.stringify(url)} ${why}`, { code: 'bad-url' });
  if (url === '' || /[\0-\x1f\x7f]/.test(url)) throw bad('is not a git URL or path');
  if (url.startsWith('-')) throw bad('must not start with "-"');
  if (url.includes('::')) throw bad('uses a git remote-helper transport, which coopctl refuses');
  if (SCHEME_URL.test(url) || SCP_URL.test(url)) return url;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw bad('uses an unsupported scheme (use https, ssh, git or file)');
  return path.resolve(url);
}

function isLocal(url: string): boolean {
  return path.isAbsolute(url) || url.startsWith('file://');
}

/** The URL without credentials, for messages. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1');
}

async function git(opts: GitSourceOptions, args: string[], timeoutMs: number, cwd?: string): Promise<RunResult> {
  return opts.runner.run('git', cwd ? ['-C', cwd, ...args] : args, {
    mutates: false,
    reject: false,
    timeoutMs,
    env: GIT_ENV,
  });
}

function failure(what: string, r: RunResult): RemoteError {
  const tail = (r.stderr || r.stdout).trim().split('\n').slice(-3).join('\n');
  return new RemoteError(`${what} (git exited with ${r.exitCode})${tail ? `:\n${tail}` : ''}`);
}

function parseLsRemote(stdout: string): RemoteTag[] {
  const tags: RemoteTag[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^([0-9a-f]{40,64})\trefs\/tags\/(.+)$/.exec(line.trim());
    if (m && !m[2].endsWith('^{}')) tags.push({ name: m[2], object: m[1] });
  }
  return tags;
}

/** Every tag of the repository, without cloning it. */
export async function listRemoteTags(opts: GitSourceOptions, url: string): Promise<RemoteTag[]> {
  const u = normalizeGitUrl(url);
  const r = await git(opts, ['ls-remote', '--tags', '--refs', u], opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  if (r.exitCode !== 0) throw failure(`cannot list the tags of ${displayUrl(u)}`, r);
  return parseLsRemote(r.stdout);
}

/** The tags that are releases of the scheme, ascending; other tags are ignored. */
export async function listVersionTags<V>(
  opts: GitSourceOptions,
  url: string,
  scheme: TagScheme<V>,
): Promise<VersionTag<V>[]> {
  const tags: VersionTag<V>[] = [];
  for (const t of await listRemoteTags(opts, url)) {
    const version = scheme.parse(t.name);
    if (version !== undefined) tags.push({ ...t, version });
  }
  return tags.sort((a, b) => scheme.compare(a.version, b.version) || (a.name < b.name ? -1 : 1));
}

function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'coopctl', 'repos');
}

export function mirrorDir(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const u = normalizeGitUrl(url);
  return path.join(cacheRoot(env), createHash('sha256').update(u).digest('hex'));
}

function fetchedAt(dir: string): number | undefined {
  try {
    return fs.statSync(path.join(dir, STAMP)).mtimeMs;
  } catch {
    return undefined;
  }
}

function stamp(dir: string, now: number): void {
  const file = path.join(dir, STAMP);
  fs.writeFileSync(file, '');
  fs.utimesSync(file, now / 1000, now / 1000);
}

async function cloneMirror(opts: GitSourceOptions, u: string, dir: string): Promise<void> {
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: PRIVATE_DIR });
  // Clone beside the final place and rename: a concurrent coopctl never sees half a mirror.
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const filter = isLocal(u) ? [] : ['--filter=blob:none'];
  try {
    const r = await git(
      opts,
      ['clone', '--bare', '--quiet', ...filter, '--', u, tmp],
      opts.cloneTimeoutMs ?? DEFAULT_CLONE_TIMEOUT_MS,
    );
    if (r.exitCode !== 0) throw failure(`cannot mirror ${displayUrl(u)} into the cache`, r);
    stamp(tmp, (opts.now ?? Date.now)());
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Another run finished first; its mirror is as good as ours.
      if (!fs.existsSync(dir)) throw err;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Fetches every tag (moved ones too) and drops tags deleted upstream. */
async function fetchMirror(opts: GitSourceOptions, u: string, dir: string): Promise<void> {
  const r = await git(
    opts,
    ['fetch', '--quiet', '--prune', 'origin', '+refs/tags/*:refs/tags/*'],
    opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    dir,
  );
  if (r.exitCode !== 0) throw failure(`cannot fetch the tags of ${displayUrl(u)}`, r);
  stamp(dir, (opts.now ?? Date.now)());
}

interface MirrorState {
  dir: string;
  /** Set when a refresh failed and the older mirror is used (offline, say). */
  staleReason?: string;
  /** True when this call fetched or cloned. */
  refreshed: boolean;
}

/** The bare mirror of `url`, cloned on first use and refetched when older than the TTL (or when `refresh`). */
export async function ensureMirror(opts: GitSourceOptions, url: string, refresh = false): Promise<MirrorState> {
  const u = normalizeGitUrl(url);
  const dir = mirrorDir(u, opts.env);
  if (!fs.existsSync(path.join(dir, 'HEAD'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    await cloneMirror(opts, u, dir);
    return { dir, refreshed: true };
  }
  const last = fetchedAt(dir);
  const now = (opts.now ?? Date.now)();
  if (!refresh && last !== undefined && now - last < (opts.ttlMs ?? DEFAULT_TTL_MS)) return { dir, refreshed: false };
  try {
    await fetchMirror(opts, u, dir);
    return { dir, refreshed: true };
  } catch (err) {
    if (!(err instanceof RemoteError)) throw err;
    return { dir, refreshed: false, staleReason: err.message };
  }
}

function assertRepoPath(file: string): string {
  const ok =
    /^[\w@+-][\w@+.\- /]*$/.test(file) && !file.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');
  if (!ok)
    throw new InputError(`${JSON.stringify(file)} is not a plain relative path inside the repository`, {
      code: 'bad-path',
    });
  return file;
}

async function hasTag(opts: GitSourceOptions, dir: string, tag: string): Promise<boolean> {
  const r = await git(opts, ['rev-parse', '--verify', '--quiet', `refs/tags/${tag}^{commit}`], DEFAULT_TIMEOUT_MS, dir);
  return r.exitCode === 0;
}

/** The mirror's directory once it has `tag` (refetched once when missing); a tag not upstream is an InputError. */
async function mirrorWithTag(opts: GitSourceOptions, url: string, tag: string): Promise<string> {
  assertVersion(tag, 'tag');
  const mirror = await ensureMirror(opts, url);
  const { dir } = mirror;
  if (!(await hasTag(opts, dir, tag))) {
    const again = mirror.refreshed ? mirror : await ensureMirror(opts, url, true);
    if (!(await hasTag(opts, dir, tag))) {
      const stale = again.staleReason ? ` (the cached mirror could not be refreshed: ${again.staleReason})` : '';
      throw new InputError(`tag ${tag} not found in ${displayUrl(normalizeGitUrl(url))}${stale}`, {
        code: 'unknown-version',
      });
    }
  }
  return dir;
}

/**
 * The content of `file` at `tag`, or undefined when the file does not exist
 * there. A tag not yet in the mirror triggers one refetch; a tag that is not
 * upstream at all is an InputError.
 */
export async function readFileAtTag(
  opts: GitSourceOptions,
  url: string,
  tag: string,
  file: string,
): Promise<string | undefined> {
  assertRepoPath(file);
  const dir = await mirrorWithTag(opts, url, tag);
  const ref = `refs/tags/${tag}`;
  const entry = await git(opts, ['ls-tree', ref, '--', file], DEFAULT_TIMEOUT_MS, dir);
  if (entry.exitCode !== 0) throw failure(`cannot list ${file} at ${tag}`, entry);
  if (!/^\d+ blob /.test(entry.stdout)) return undefined;
  // In a blob-less mirror this lazily fetches the one blob: a network call.
  const blob = await git(opts, ['cat-file', 'blob', `${ref}:${file}`], opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, dir);
  if (blob.exitCode !== 0) throw failure(`cannot read ${file} at ${tag}`, blob);
  return blob.stdout;
}

/** The names of the files in `folder` at `tag` (none when it does not exist there); trees only, no blob fetched. */
export async function listFilesAtTag(
  opts: GitSourceOptions,
  url: string,
  tag: string,
  folder: string,
): Promise<string[]> {
  assertRepoPath(folder);
  const dir = await mirrorWithTag(opts, url, tag);
  const r = await git(
    opts,
    ['ls-tree', '--name-only', `refs/tags/${tag}`, '--', `${folder}/`],
    DEFAULT_TIMEOUT_MS,
    dir,
  );
  if (r.exitCode !== 0) throw failure(`cannot list ${folder} at ${tag}`, r);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((f) => f.slice(folder.length + 1));
}

/**
 * Whether `patches` apply cleanly to the tree of `tag` one after the other, in order, as the image build's
 * `git apply P1 P2 ...` applies them (each to what the ones before it made): `git apply --cached` of each onto a
 * throw-away index read from the tag, in the mirror (its refs do not move; the patched blobs it writes there are
 * unreachable objects that `git gc` drops). When one does not, `failed` is its index and the message git's.
 */
export async function patchesApplyAtTag(
  opts: GitSourceOptions,
  url: string,
  tag: string,
  patches: readonly string[],
): Promise<{ ok: true } | { ok: false; failed: number; message: string }> {
  const dir = await mirrorWithTag(opts, url, tag);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coopctl-apply-'));
  try {
    const env = { ...GIT_ENV, GIT_INDEX_FILE: path.join(tmp, 'index') };
    const run = (args: string[], input?: string) =>
      opts.runner.run('git', ['-C', dir, ...args], {
        mutates: false,
        reject: false,
        timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        env,
        input,
      });
    const read = await run(['read-tree', `refs/tags/${tag}`]);
    if (read.exitCode !== 0) throw failure(`cannot read the tree of ${tag}`, read);
    for (const [i, patch] of patches.entries()) {
      const r = await run(['apply', '--cached', '-'], patch);
      if (r.exitCode !== 0) return { ok: false, failed: i, message: (r.stderr || r.stdout).trim() };
    }
    return { ok: true };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
