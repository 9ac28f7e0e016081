import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, REPO, type CliResult } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * The package as users get it: `npm pack` (of the build the global setup
 * made), installed with `npm install -g --prefix DIR`, run from DIR/bin. It
 * must work with its production dependencies alone, read a live sandbox like
 * the checkout does, and carry no test world.
 */
const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};
const tmp = mkdtempSync(path.join(os.tmpdir(), 'coopctl-pkg-'));
const prefix = path.join(tmp, 'prefix');
const installed = path.join(prefix, 'lib', 'node_modules', 'coopctl');
let sb: TestSandbox | undefined;

/** npm and the installed coopctl without this test run's npm_* settings; node first on PATH. */
const env = () => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_'))),
  PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
  CI: 'true',
  NO_COLOR: '1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

/** --ignore-scripts: `prepare` would rebuild dist/ under the feet of the test files running beside this one. */
async function installPackage(): Promise<void> {
  const pack = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
    cwd: REPO,
    env: env(),
    extendEnv: false,
  });
  const [{ filename }] = JSON.parse(pack.stdout) as Array<{ filename: string }>;
  await execa(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(tmp, filename)],
    { cwd: tmp, env: env(), extendEnv: false },
  );
}

async function installedCoopctl(args: string[]): Promise<CliResult> {
  const r = await execa(path.join(prefix, 'bin', 'coopctl'), args, {
    cwd: tmp,
    env: env(),
    extendEnv: false,
    reject: false,
    timeout: 180_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Every package under a node_modules tree, nested ones included (`@scope/name`). */
function packagesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const names: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('.')) continue;
    const scoped = entry.startsWith('@') ? readdirSync(path.join(dir, entry)).map((n) => `${entry}/${n}`) : [entry];
    for (const name of scoped) names.push(name, ...packagesUnder(path.join(dir, name, 'node_modules')));
  }
  return names;
}

/** Files of the installed package itself, without its node_modules. */
function filesOf(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const p = path.join(rel, e.name);
    if (p === 'node_modules') return [];
    return e.isDirectory() ? filesOf(dir, p) : [p];
  });
}

beforeAll(async () => {
  const [, started] = await Promise.all([installPackage(), startSandbox()]);
  sb = started;
}, 900_000);

afterAll(async () => {
  await sb?.down();
  rmSync(tmp, { recursive: true, force: true });
});

describe('the npm package, installed', () => {
  it('holds the built code, bin/, playbooks/ and README.md: no sources, no source maps, no test world', () => {
    const files = filesOf(installed);
    for (const f of ['bin/coopctl', 'dist/cli/entry.js', 'playbooks/mastodon.yml', 'README.md', 'package.json'])
      expect(files).toContain(f);
    expect(
      files.filter((f) => !/^(bin|dist|playbooks)\//.test(f) && !['README.md', 'package.json'].includes(f)),
    ).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map') || f.endsWith('.ts'))).toEqual([]);
  });

  it('has none of the devDependencies nor what only the sandbox and the tests use', () => {
    const present = new Set(packagesUnder(path.join(installed, 'node_modules')));
    expect(present.has('commander')).toBe(true);
    const devOnly = [
      ...Object.keys(pkg.devDependencies),
      's3rver',
      'tsx',
      'vitest',
      'typescript',
      '@inquirer/testing',
      'esbuild',
    ];
    expect(devOnly.filter((name) => present.has(name))).toEqual([]);
  });

  it('--version and --help', async () => {
    const v = await installedCoopctl(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const help = await installedCoopctl(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Examples:');
  });

  it('status -c FILE reads a live sandbox as the checkout does: Mastodon over SSH and HTTP, the apps through abra', async () => {
    interface Row {
      service: string;
      env: string;
      version: string | null;
      healthy: boolean | null;
    }
    const rows = (r: CliResult) => {
      expect(r.code, r.stderr).toBe(0);
      return json<{ services: Row[] }>(r).services.map(({ service, env, version, healthy }) => ({
        service,
        env,
        version,
        healthy,
      }));
    };
    const fromPackage = rows(await installedCoopctl(['-c', sb!.config, '--json', 'status']));
    expect(fromPackage).toHaveLength(6);
    expect(fromPackage.filter((s) => s.healthy).map((s) => s.version)).toContain('4.4.7');
    expect(fromPackage.filter((s) => s.healthy).map((s) => s.version)).toContain('1.0.0+1.0.5-social-amd64');
    expect(fromPackage).toEqual(rows(await sb!.run(['--json', 'status'])));
    const table = await installedCoopctl(['-c', sb!.config, 'status', 'mastodon']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('4.4.7');
  });

  it('sandbox up exits 2: the sandbox runs from a checkout only', async () => {
    const dir = path.join(tmp, 'sb');
    const r = await installedCoopctl(['sandbox', 'up', '--dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('coopctl sandbox runs from a checkout of coopctl');
    expect(existsSync(dir)).toBe(false);
    const asJson = await installedCoopctl(['--json', 'sandbox', 'status']);
    expect(asJson.code).toBe(2);
    expect(json(asJson)).toMatchObject({ error: { code: 'bad-input' } });
  });
});
