import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildProgram, main } from '../../../src/cli/main.js';
import type { IO } from '../../../src/kernel/io.js';

function io(): IO & { out: () => string; err: () => string } {
  const [stdout, stderr] = [new PassThrough(), new PassThrough()];
  const text = (s: PassThrough) => () => s.read()?.toString() ?? '';
  return {
    stdin: new PassThrough(),
    stdout,
    stderr,
    env: { CI: 'true', NO_COLOR: '1' },
    out: text(stdout),
    err: text(stderr),
  };
}

/** What a command line becomes: the command's path, its options and arguments, and the global flags. */
async function parse(argv: string[]) {
  let seen: { command: string; opts: Record<string, unknown>; args: string[] } | undefined;
  const program = buildProgram(io(), async (_loader, cmd, args) => {
    const names: string[] = [];
    for (let c: typeof cmd | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
    seen = { command: names.join(' '), opts: cmd.opts(), args };
  });
  await program.parseAsync(argv, { from: 'user' });
  return { ...seen!, global: program.opts() };
}

describe('flags → options, in-process', () => {
  it('upgrade: service, --env, --to, --pre, --lock-wait with and without a value, --no-check', async () => {
    const a = await parse(['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--lock-wait', '--no-check']);
    expect(a).toMatchObject({
      command: 'upgrade',
      args: ['mastodon'],
      opts: { env: 'alpha', to: '4.4.8', lockWait: true, check: false },
    });
    const b = await parse(['-y', '--json', 'upgrade', 'mastodon', '-e', 'prod', '--lock-wait', '5m', '--pre']);
    expect(b).toMatchObject({
      opts: { env: 'prod', lockWait: '5m', pre: true, check: true },
      global: { yes: true, json: true },
    });
  });

  it('global flags before the command: -c, --dry-run, -v', async () => {
    const r = await parse(['-c', 'x.yaml', '--dry-run', '-v', 'status', 'mastodon']);
    expect(r).toMatchObject({
      command: 'status',
      args: ['mastodon'],
      global: { config: 'x.yaml', dryRun: true, verbose: true },
    });
  });

  it('rollback, backup and lock subcommands', async () => {
    expect(await parse(['rollback', 'mastodon', '--env', 'prod', '--to', '4.4.7', '--restore-db'])).toMatchObject({
      command: 'rollback',
      opts: { env: 'prod', to: '4.4.7', restoreDb: true },
    });
    expect(
      await parse(['backup', 'restore', '20261129T101010Z-abcdef', '--into', 'scratch', '--store', 's3']),
    ).toMatchObject({
      command: 'backup restore',
      args: ['20261129T101010Z-abcdef'],
      opts: { into: 'scratch', store: 's3' },
    });
    expect(await parse(['lock', 'release', 'mastodon', '--env', 'prod', '--force', '-m', 'stuck'])).toMatchObject({
      command: 'lock release',
      opts: { env: 'prod', force: true, message: 'stuck' },
    });
    expect(await parse(['history', '--limit', '5'])).toMatchObject({ command: 'history', opts: { limit: '5' } });
  });

  it('a missing required flag or an unknown one is exit 2 naming it, before any config is read', async () => {
    const missing = io();
    expect(await main(['-c', '/nonexistent/coopctl.yaml', 'upgrade', 'mastodon'], missing)).toBe(2);
    expect(missing.err()).toContain('--env');
    const unknown = io();
    expect(await main(['-c', '/nonexistent/coopctl.yaml', 'status', '--colour'], unknown)).toBe(2);
    expect(unknown.err()).toContain('--colour');
  });

  it('--help shows its examples in one block, before the exit codes', async () => {
    const help = io();
    expect(await main(['--help'], help)).toBe(0);
    const text = help.out();
    expect(text.match(/^Examples:$/gm)).toHaveLength(1);
    const [, afterExitCodes] = text.split(/^Exit codes:$/m);
    expect(afterExitCodes).toBeDefined();
    expect(afterExitCodes).not.toMatch(/\$ coopctl/);
    expect(text).toContain('$ coopctl reject mastodon 4.5.0');
  });

  it('--restore-db with --keep-db is refused where the options are built: exit 2 naming both, nothing loaded', async () => {
    const both = io();
    const argv = ['-c', '/nonexistent/coopctl.yaml', 'rollback', 'mastodon', '--env', 'prod', '--restore-db'];
    expect(await main([...argv, '--keep-db'], both)).toBe(2);
    expect(both.err()).toMatch(/--keep-db.*cannot be used with.*--restore-db/);
    expect(both.err()).not.toContain('nonexistent');
    const verify = io();
    expect(await main(['backup', 'verify', '20261129T101010Z-abcdef', '--quick', '--restore'], verify)).toBe(2);
    expect(verify.err()).toMatch(/--restore.*cannot be used with.*--quick/);
  });
});
