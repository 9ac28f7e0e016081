import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { LoadedConfig } from './load.js';
import { ConfigError } from '../kernel/errors.js';

/**
 * Patch sets: patches from the operators' repo applied on top of an upstream
 * version at every deploy of an environment that lists them (config:
 * services.S.environments.E.patches). What a history record carries is the
 * PatchSet (names and hashes); a deploy gets the LoadedPatchSet (the texts too).
 */

interface PatchSet {
  /** sha256 over the sorted "<file basename> <sha256>" lines. */
  digest: string;
  patches: Array<{ file: string; sha256: string }>;
}

/** What a patch says it does, checked after the deploy (a sidecar FILE.patch.yaml). */
export interface PatchExpectation {
  instanceApi: { path: string; equals: string | number | boolean };
}

interface LoadedPatch {
  /** As the config names it. */
  file: string;
  name: string;
  sha256: string;
  content: string;
  /** The files it changes (relative to the tree's root). */
  touches: string[];
  expect?: PatchExpectation;
}

export interface LoadedPatchSet {
  set: PatchSet;
  patches: LoadedPatch[];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function patchSetDigest(patches: ReadonlyArray<{ file: string; sha256: string }>): string {
  const lines = patches.map((p) => `${path.basename(p.file)} ${p.sha256}`).sort();
  return sha256(lines.map((l) => `${l}\n`).join(''));
}

/** The patch set a history record carries (`details.patchSet`): none when the change deployed without patches. */
export function recordedPatchSet(r: { details: Record<string, unknown> } | undefined): PatchSet | undefined {
  const p = r?.details.patchSet as PatchSet | null | undefined;
  return p && typeof p.digest === 'string' && Array.isArray(p.patches) ? p : undefined;
}

/** The tag of the image built from `version` with the set (the playbook builds the same). */
export function patchedTag(version: string, set: PatchSet | null | undefined): string {
  return set ? `${version}-p${set.digest.slice(0, 12)}` : version;
}

const expectationSchema = z.strictObject({
  expect: z.strictObject({
    instanceApi: z.strictObject({
      path: z.string().regex(/^[\w]+(\.[\w]+)*$/, 'must be a dotted path like configuration.statuses.max_characters'),
      equals: z.union([z.string(), z.number(), z.boolean()]),
    }),
  }),
});

/** The files a patch in git diff (or unified diff) format changes; empty when the text is no patch. */
function touchedFiles(text: string): string[] {
  const files = new Set<string>();
  const lines = text.split('\n');
  for (const [i, l] of lines.entries()) {
    const m = /^\+\+\+ (?:b\/)?(\S+)/.exec(l);
    if (m && m[1] !== '/dev/null' && lines[i - 1]?.startsWith('--- ') && /^@@ /.test(lines[i + 1] ?? '')) {
      files.add(m[1]);
    }
  }
  return [...files];
}

function readExpectation(file: string, where: string): PatchExpectation | undefined {
  const sidecar = `${file}.yaml`;
  let text: string;
  try {
    text = readFileSync(sidecar, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: z.output<typeof expectationSchema>;
  try {
    parsed = expectationSchema.parse(parseYaml(text));
  } catch (err) {
    const why =
      err instanceof z.ZodError ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : String(err);
    throw new ConfigError(`${where}: ${path.basename(sidecar)}: ${why}`);
  }
  return parsed.expect;
}

/** The patches an environment lists, read and checked; null when it lists none. Bad ones are ConfigErrors. */
export function loadPatchSet(loaded: LoadedConfig, service: string, env: string): LoadedPatchSet | null {
  const files = loaded.config.services[service]?.environments[env]?.patches ?? [];
  if (!files.length) return null;
  const patches = files.map((file, i): LoadedPatch => {
    const at = ['services', service, 'environments', env, 'patches', i];
    const abs = loaded.resolvePath(file);
    let content: string;
    try {
      content = readFileSync(abs, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw loaded.error(at, `${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    const touches = touchedFiles(content);
    if (!touches.length)
      throw loaded.error(at, `${file}: not a patch (no "--- a/FILE", "+++ b/FILE", "@@" hunk in it; try git diff)`);
    const expect = readExpectation(abs, loaded.locate(at));
    return { file, name: path.basename(file), sha256: sha256(content), content, touches, expect };
  });
  const names = patches.map((p) => p.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice)
    throw loaded.error(['services', service, 'environments', env, 'patches'], `two patches are named ${twice}`);
  const set = patches.map((p) => ({ file: p.file, sha256: p.sha256 }));
  return { set: { digest: patchSetDigest(set), patches: set }, patches };
}

/**
 * The patches a history record's set names, read again from the operators' repo: null when one is gone or has
 * changed since (its sha256 differs), as the set can then not be built again.
 */
export function loadRecordedPatchSet(loaded: LoadedConfig, recorded: PatchSet): LoadedPatchSet | null {
  const patches: LoadedPatch[] = [];
  for (const { file, sha256: want } of recorded.patches) {
    let content: string;
    try {
      content = readFileSync(loaded.resolvePath(file), 'utf8');
    } catch {
      return null;
    }
    if (sha256(content) !== want) return null;
    const expect = readExpectation(loaded.resolvePath(file), file);
    patches.push({ file, name: path.basename(file), sha256: want, content, touches: touchedFiles(content), expect });
  }
  return { set: recorded, patches };
}

/** Every environment's patches, checked when the config is loaded: a bad one is bad input before anything runs. */
export function checkAllPatches(loaded: LoadedConfig): void {
  for (const [service, svc] of Object.entries(loaded.config.services))
    for (const env of Object.keys(svc.environments)) loadPatchSet(loaded, service, env);
}
