import { findConfig, loadConfig, type LoadedConfig } from '../config/load.js';
import { Printer, type IO } from '../kernel/io.js';
import { ExecaRunner, type ProcessRunner } from '../kernel/process.js';
import { configSchema, REGISTRY } from '../operations/registry.js';
import { checkAllPatches } from '../config/patches.js';
import { Workspace } from '../workspace/workspace.js';
import { defaultPrompter, type Prompter } from './prompter.js';

export interface GlobalOptions {
  config?: string;
  json: boolean;
  yes: boolean;
  dryRun: boolean;
  verbose: boolean;
}

/**
 * What every command gets (the GitHub CLI "factory"): IO, prompter, process
 * runner and lazily loaded config/workspace. Tests build their own.
 */
export interface CommandContext {
  io: IO;
  printer: Printer;
  global: GlobalOptions;
  cwd: string;
  runner: ProcessRunner;
  prompter: Prompter;
  config(): LoadedConfig;
  workspace(): Workspace;
  /** Called on exit, normal or not (closes SSH connections, ...). */
  cleanup: Array<() => Promise<void> | void>;
}

export function createContext(io: IO, global: GlobalOptions, cwd = process.cwd()): CommandContext {
  const printer = new Printer(io, { verbose: global.verbose });
  const log = (line: string) => printer.debug(line);
  const runner = new ExecaRunner(global.dryRun, log);
  let loaded: LoadedConfig | undefined;
  let ws: Workspace | undefined;
  const prompter = defaultPrompter(io);
  const askPassphrase = prompter.interactive
    ? (file: string) =>
        prompter.secret({ message: `Passphrase for ${file}`, flag: `load the key with: ssh-add ${file}` })
    : undefined;
  const ctx: CommandContext = {
    io,
    printer,
    global,
    cwd,
    runner,
    prompter,
    cleanup: [],
    config() {
      if (!loaded) {
        const l = loadConfig(findConfig(global.config, io.env, cwd), configSchema());
        checkAllPatches(l);
        loaded = l;
      }
      return loaded;
    },
    workspace() {
      if (!ws) {
        ws = new Workspace(ctx.config(), runner, REGISTRY, log, askPassphrase);
        const w = ws;
        ctx.cleanup.push(() => w.close());
      }
      return ws;
    },
  };
  return ctx;
}
