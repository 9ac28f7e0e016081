import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const execFileAsync = promisify(execFile);

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where test/helpers/sandbox.ts builds this run's template sandbox. */
    sandboxTemplateDir: string;
  }
}

/**
 * End-to-end tests run the built CLI (bin/coopctl → dist/), and the sandbox
 * hosts run the built test world (build/world/: the doubles), so build both
 * first, as `npm run build` does. Type errors are reported by the separate
 * type-check step of CI; tsc still emits, so they do not stop the suite here.
 * Returns the teardown, which removes the run's template sandbox (stopped once built).
 */
export default async function setup(vitest: TestProject): Promise<(() => void) | undefined> {
  // The fast tier (scripts/test.sh --fast) runs in-process tests only: nothing of the build is used.
  if (process.env.COOPCTL_TEST_NO_BUILD) return undefined;
  const root = path.resolve(import.meta.dirname, '../..');
  // a fresh dist/, as the package is made from it (test/e2e/package.test.ts)
  rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  // side by side: two cores build both in the time of the longer one
  await Promise.all(
    ['tsconfig.build.json', 'tsconfig.world.json'].map(async (project) => {
      const tsc = [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', project];
      const r = await execFileAsync(process.execPath, tsc, { cwd: root, maxBuffer: 64 * 1024 * 1024 }).catch(
        (err: { stdout?: string }) => ({ failed: String(err.stdout ?? err) }),
      );
      if ('failed' in r)
        process.stderr.write(
          `tsc -p ${project} reported problems (the build still emitted):\n${r.failed.slice(0, 4000)}\n`,
        );
    }),
  );
  // the host programs (src/**/*.sh) beside the modules that read them
  spawnSync(process.execPath, [path.join(root, 'scripts/copy-host-programs.mjs')], { cwd: root, stdio: 'inherit' });
  const templates = mkdtempSync(path.join(os.tmpdir(), 'coopctl-tpl-'));
  vitest.provide('sandboxTemplateDir', templates);
  return () => {
    // stopped once built; a run cut short during the build may have left it running
    const template = path.join(templates, 'sandbox');
    if (existsSync(template))
      spawnSync(process.execPath, [path.join(root, 'bin/coopctl'), 'sandbox', 'down', '--dir', template], {
        stdio: 'ignore',
      });
    rmSync(templates, { recursive: true, force: true });
  };
}
