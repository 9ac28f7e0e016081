import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../../src/cli/main.js';
import { repoRoot } from '../../helpers/sourceFiles.js';

/** The sandbox-like config of the monitoring tests, and its inventory. */
export const FIXTURE = path.join(repoRoot, 'test/fixtures/monitoring');

/** A copy of the fixture directory whose coopctl.yaml `edit` rewrote: for the cases of bad config. */
export function fixtureCopy(edit: (text: string) => string = (t) => t): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'coopctl-monitor-'));
  cpSync(FIXTURE, dir, { recursive: true });
  const file = path.join(dir, 'coopctl.yaml');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return dir;
}

/** coopctl in-process, as the operator runs it (no TTY, CI set). */
export async function coopctl(argv: string[]) {
  const [stdout, stderr] = [new PassThrough(), new PassThrough()];
  const read = (s: PassThrough) => s.read()?.toString() ?? '';
  const io = { stdin: new PassThrough(), stdout, stderr, env: { CI: 'true', NO_COLOR: '1' } };
  const code = await main(argv, io);
  return { code, stdout: read(stdout), stderr: read(stderr) };
}
