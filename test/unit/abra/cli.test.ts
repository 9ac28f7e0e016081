import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/kernel/errors.js';
import { ExecaRunner } from '../../../src/kernel/process.js';
import { AbraCli, fatalLines } from '../../../src/drivers/abra/cli.js';
import { ABRA_COMMANDS, AbraClient } from '../../../src/drivers/abra/client.js';
import { AbraError, classifyFatal } from '../../../src/drivers/abra/errors.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'coopctl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A tiny executable standing in for abra: prints its argv and ABRA_DIR, fails the way it is told. */
function fakeAbra(body: string): string {
  const file = path.join(tmp, `abra-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('fatalLines', () => {
  it('finds charmbracelet FATA lines, with or without colour and timestamps, and logrus fatals', () => {
    const stderr = [
      'INFO checked out 2.0.1',
      '\u001b[1;31mFATA\u001b[0m bonfire.x is already deployed',
      '2026/11/26 04:02:26 FATA second one',
      'time="2024" level=fatal msg="old \\"style\\" error"',
    ].join('\n');
    expect(fatalLines(stderr)).toEqual(['bonfire.x is already deployed', 'second one', 'old "style" error']);
  });

  it.each([
    ['hypha: unable to connect to 127.0.0.1:22 over SSH: ECONNREFUSED', 'unreachable'],
    ['x: deploy failed: timed out waiting for x to converge', 'converge-timeout'],
    ['bonfire.social.coop is already deployed', 'already-deployed'],
    ['bonfire (/r) has locally unstaged changes? please commit', 'dirty-recipe'],
    ['wiki.x: no backup configs discovered', 'no-backup-config'],
    ['1.0.0+x is not an upgrade for 2.0.0+x?', 'version-refused'],
    ['cannot find app with name nope.x', 'not-found'],
    ['refusing to prompt: stdin is not a terminal', 'refused-prompt'],
    ['something else entirely', 'other'],
  ])('classifies %j as %s', (text, kind) => {
    expect(classifyFatal(text)).toBe(kind);
  });
});

describe('AbraCli', () => {
  it('passes ABRA_DIR from the config and argument arrays untouched', async () => {
    const bin = fakeAbra('printf "%s|" "$@"; echo "$ABRA_DIR"');
    const cli = new AbraCli(new ExecaRunner(false), { bin, dir: '/srv/abra dir' });
    const r = await cli.run(['app', 'upgrade', 'a b.x', '2.0.1+1.0.6', '-n'], { mutates: true });
    expect(r.stdout.trim()).toBe('app|upgrade|a b.x|2.0.1+1.0.6|-n|/srv/abra dir');
    expect(cli.abraDir).toBe('/srv/abra dir');
  });

  it('falls back to $ABRA_DIR, then ~/.abra', () => {
    const runner = new ExecaRunner(false);
    expect(new AbraCli(runner, { bin: 'abra' }, { ABRA_DIR: '/x' }).abraDir).toBe('/x');
    expect(new AbraCli(runner, { bin: 'abra' }, {}).abraDir).toBe(path.join(os.homedir(), '.abra'));
  });

  it('turns FATA into an AbraError (an OperationError, exit 1) carrying the text and its kind', async () => {
    const bin = fakeAbra('echo "INFO working" >&2; echo "FATA bonfire.x is already deployed" >&2; exit 1');
    const cli = new AbraCli(new ExecaRunner(false), { bin });
    const err = (await cli
      .run(['app', 'deploy', 'bonfire.x', '-n'], { mutates: true })
      .catch((e: unknown) => e)) as AbraError;
    expect(err).toBeInstanceOf(AbraError);
    expect(err.exitCode).toBe(ExitCode.failed);
    expect(err.kind).toBe('already-deployed');
    expect(err.fatal).toBe('bonfire.x is already deployed');
    expect(err.message).toBe('abra app deploy bonfire.x: bonfire.x is already deployed');
    expect(err.toolExitCode).toBe(1);
  });

  it('uses the stderr tail when abra died without a FATA line', async () => {
    const bin = fakeAbra('echo "panic: runtime error" >&2; exit 2');
    const err = (await new AbraCli(new ExecaRunner(false), { bin })
      .run(['app', 'ls'], { mutates: false })
      .catch((e: unknown) => e)) as AbraError;
    expect(err.fatal).toBe('panic: runtime error');
    expect(err.kind).toBe('other');
  });

  it('skips mutating commands under --dry-run and still runs read-only ones', async () => {
    const marker = path.join(tmp, 'ran');
    const bin = fakeAbra(`echo ran > ${marker}; echo '{}'`);
    const cli = new AbraCli(new ExecaRunner(true), { bin });
    expect((await cli.run(['app', 'upgrade', 'x.y', '-n'], { mutates: true })).skipped).toBe(true);
    const read = await cli.run(['app', 'ls', '-S', '-m'], { mutates: false });
    expect(read.skipped).toBe(false);
    expect(read.stdout.trim()).toBe('{}');
  });
});

describe('AbraClient', () => {
  it('builds each command from its declared words and flags (those doctor checks in --help), in this order', async () => {
    const log = path.join(tmp, 'argv');
    const bin = fakeAbra(`printf "%s|" "$@" > ${log}; echo '{"s":{"apps":[]}}'`);
    const client = new AbraClient({ runner: new ExecaRunner(false), settings: { bin } });
    const argv = async (fn: () => Promise<unknown>) => {
      await fn();
      return readFileSync(log, 'utf8').replace(/\|$/, '');
    };
    expect(await argv(() => client.listApps('hypha'))).toBe('app|ls|-S|-m|-s|hypha|-n');
    expect(await argv(() => client.upgradeApp('a.x', '2.0.1+1.0.6', { noConvergeChecks: true }))).toBe(
      'app|upgrade|a.x|2.0.1+1.0.6|-n|-c',
    );
    expect(await argv(() => client.rollbackApp('a.x'))).toBe('app|rollback|a.x|-n');
    expect(await argv(() => client.deployApp('a.x', '1.0.0+1', { force: true, chaos: true }))).toBe(
      'app|deploy|a.x|1.0.0+1|-n|-f|-C',
    );
    expect(await argv(() => client.restoreApp('a.x', 'abcdef12'))).toBe('app|restore|a.x|-s|abcdef12|-n');
    expect(await argv(() => client.restoreApp('a.x'))).toBe('app|restore|a.x|-n');
    expect(await argv(() => client.backupApp('a.x'))).toBe('app|backup|create|a.x|-n');
    // through script(1), the quoted line given back as the same words
    expect(await argv(() => client.downloadSnapshotPath('a.x', 'abcdef12', '/v/d_a/it s.sql', tmp))).toBe(
      'app|backup|download|a.x|-s|abcdef12|-p|/v/d_a/it s.sql|-n',
    );
    expect(await argv(() => client.fetchRecipe('bonfire'))).toBe('recipe|fetch|bonfire|-n');
    expect(Object.values(ABRA_COMMANDS).map((c) => c.words.join(' '))).toContain('app backup ls');
  });
});
