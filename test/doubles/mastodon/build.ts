import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { StandinConfig } from './config.js';
import type { Io } from './containers.js';
import { imageDir, imagePresent, pullImage, storeBuiltImage } from './images.js';

/**
 * `docker build` of a patched Mastodon image, as the playbook asks for it: the context's Dockerfile names the
 * upstream image (its first FROM) and its RUN applies the context's patches/ with `git apply`. The stand-in copies
 * the upstream image's tree, applies the patches there with git (the real git apply: a patch that does not apply
 * fails the build with git's message), and stores the result under the tag. Output: BuildKit's plain progress.
 */
// source: https://docs.docker.com/reference/cli/docker/buildx/build/#progress (plain progress: "#N step",
// "#N DONE 0.1s"); git apply's failure fails the RUN step (https://git-scm.com/docs/git-apply)
interface BuildRequest {
  tag: string;
  context: string;
}

function step(io: Io, n: number, title: string, lines: string[], ok = true, secs = '0.1'): void {
  io.err(`#${n} ${title}`);
  for (const l of lines) io.err(`#${n} ${secs} ${l}`);
  if (ok) io.err(`#${n} DONE ${secs}s`);
  io.err('');
}

function patchOrder(dockerfile: string, context: string): string[] {
  const run = /^RUN\s+git apply[^\n]*$/m.exec(dockerfile)?.[0] ?? '';
  const named = [...run.matchAll(/\/patches\/([\w.-]+\.patch)/g)].map((m) => m[1]);
  if (named.length) return named;
  const dir = path.join(context, 'patches');
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.patch'))
        .sort()
    : [];
}

export function buildImage(root: string, cfg: StandinConfig, req: BuildRequest, io: Io): number {
  const file = path.join(req.context, 'Dockerfile');
  if (!existsSync(file)) {
    io.err(`ERROR: failed to solve: failed to read dockerfile: open Dockerfile: no such file or directory`);
    return 1;
  }
  const dockerfile = readFileSync(file, 'utf8');
  const base = /^FROM\s+(\S+)/m.exec(dockerfile)?.[1];
  if (!base) {
    io.err('ERROR: failed to solve: dockerfile parse error: no FROM instruction');
    return 1;
  }
  io.err('#0 building with "default" instance using docker driver');
  io.err('');
  step(io, 1, '[internal] load build definition from Dockerfile', [
    `transferring dockerfile: ${statSync(file).size}B done`,
  ]);
  if (!imagePresent(root, cfg, base)) {
    try {
      pullImage(root, cfg, base);
    } catch {
      io.err(`ERROR: failed to solve: ${base}: not found`);
      return 1;
    }
  }
  step(io, 2, `[internal] load metadata for ${base}`, []);
  step(io, 3, '[internal] load build context', ['transferring context: done']);
  const tmp = `${imageDir(root, req.tag)}.build-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  cpSync(imageDir(root, base), tmp, { recursive: true });
  const run = /^RUN\s+(git apply[^\n]*)$/m.exec(dockerfile)?.[1] ?? 'git apply /patches/*.patch';
  let n = 4;
  for (const name of patchOrder(dockerfile, req.context)) {
    const r = spawnSync('git', ['apply', '--verbose', path.join(req.context, 'patches', name)], {
      cwd: tmp,
      encoding: 'utf8',
      // the copy is no repository: never let git find the one around the sandbox
      env: { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(tmp), LC_ALL: 'C' },
    });
    const out = `${r.stdout}${r.stderr}`.split('\n').filter(Boolean);
    if (r.status !== 0) {
      step(io, n, `[patched ${n - 3}] RUN ${run}`, out, false);
      io.err(`#${n} ERROR: process "/bin/sh -c ${run}" did not complete successfully: exit code: 1`);
      io.err(`ERROR: failed to solve: process "/bin/sh -c ${run}" did not complete successfully: exit code: 1`);
      rmSync(tmp, { recursive: true, force: true });
      return 1;
    }
    step(io, n++, `[patched ${n - 4}] RUN ${run} (${name})`, out);
  }
  const dest = imageDir(root, req.tag);
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  storeBuiltImage(root, req.tag, base);
  step(io, n, 'exporting to image', ['exporting layers done', `naming to ${req.tag} done`]);
  return 0;
}
