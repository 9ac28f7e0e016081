import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CoopctlError, InputError, type ExitCodeValue } from '../../../kernel/errors.js';
import type { CommandContext } from '../../context.js';

/**
 * The sandbox is coopctl's test world, not part of the product: it lives in
 * test/world of a coopctl checkout and `npm run build` compiles it into
 * build/world/. The sandbox commands load it here, at run time; nothing else
 * does, and an installed package has none.
 */
interface SandboxState {
  mode: 'loopback' | 'netns';
  link?: 'home' | 'lan' | 'none';
  /** login: the host is reached as this ordinary user, with sudo; else as whoever runs the sandbox. */
  hosts: Array<{ name: string; ssh: { address: string; port: number }; login?: string }>;
  coopcloud: { apps: unknown[] };
  s3: unknown;
  faults: Array<{ target: string; kind: string; since: string }>;
}

interface FillResult {
  env: string;
  database: string;
  target: number;
  before: FillCounts;
  after: FillCounts;
}
interface FillCounts {
  bytes: number;
  accounts: number;
  statuses: number;
  media: number | null;
}

/** What test/world/index.ts offers (test/helpers/worldContract.ts holds the two together). */
export interface SandboxWorld {
  up(opts: {
    dir: string;
    extraHosts?: number;
    netns?: boolean;
    link?: 'home' | 'lan' | 'none';
    log?: (line: string) => void;
  }): Promise<{ state: SandboxState; config: string; env: Record<string, string> }>;
  down(dir: string, purge: boolean): Promise<void>;
  processes(dir: string): Promise<{
    state: SandboxState;
    processes: Array<{ what: string; running: boolean; where?: string }>;
    /** How the links are shaped, in words. */
    link: string;
  }>;
  setFault(dir: string, target: string, kind: string): Promise<SandboxState>;
  clearFaults(dir: string, target?: string): Promise<SandboxState>;
  dirOfConfig(file: string): Promise<string | undefined>;
  fill(dir: string, env: string, bytes: number, log: (line: string) => void): Promise<FillResult>;
}

/** The package root: this file is <root>/{dist,src}/cli/commands/sandbox/common.{js,ts}. */
const ROOT = path.resolve(fileURLToPath(new URL('../../../../', import.meta.url)));
const ENTRY = path.join(ROOT, 'build', 'world', 'test', 'world', 'index.js');

/**
 * The world has its own copy of coopctl's error classes (it is compiled on
 * its own): an error that carries an exit code becomes coopctl's again.
 */
function fromWorld(err: unknown): unknown {
  if (err instanceof CoopctlError || !(err instanceof Error)) return err;
  const e = err as Error & { code?: unknown; exitCode?: unknown; hints?: unknown };
  if (typeof e.code !== 'string' || typeof e.exitCode !== 'number') return err;
  return new CoopctlError(e.message, {
    code: e.code,
    exitCode: e.exitCode as ExitCodeValue,
    hints: Array.isArray(e.hints) ? e.hints.map(String) : [],
    cause: err,
  });
}

export async function loadWorld(): Promise<SandboxWorld> {
  if (!existsSync(ENTRY)) {
    if (existsSync(path.join(ROOT, 'test', 'world'))) {
      throw new InputError(
        `the sandbox of this checkout is not built (${path.relative(process.cwd(), ENTRY) || ENTRY} is missing)`,
        { hints: ['run: npm run build'] },
      );
    }
    throw new InputError(
      `coopctl sandbox runs from a checkout of coopctl: this installation (${ROOT}) does not include the test world`,
      {
        hints: ["clone coopctl's repository, run `npm ci` in it, then `./bin/coopctl sandbox up` there"],
      },
    );
  }
  const world = (await import(pathToFileURL(ENTRY).href)) as SandboxWorld;
  return Object.fromEntries(
    Object.entries(world).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        try {
          return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        } catch (err) {
          throw fromWorld(err);
        }
      },
    ]),
  ) as unknown as SandboxWorld;
}

/** --dir; else the sandbox that wrote `-c FILE`; else ./.sandbox. */
export async function sandboxDir(ctx: CommandContext, world: SandboxWorld, dir: string | undefined): Promise<string> {
  if (dir !== undefined) return path.resolve(ctx.cwd, dir);
  if (ctx.global.config === undefined) return path.resolve(ctx.cwd, '.sandbox');
  const found = await world.dirOfConfig(path.resolve(ctx.cwd, ctx.global.config));
  if (found === undefined) {
    throw new InputError(
      `-c ${ctx.global.config}: not a coopctl.yaml written by \`coopctl sandbox up\`, so it names no sandbox`,
      {
        hints: ['pass --dir DIR to say which sandbox'],
      },
    );
  }
  return found;
}
