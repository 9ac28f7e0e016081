import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A program running in a real terminal: a private tmux server (its own
 * socket, no user config) with one session whose pane stays readable after
 * the program exits. Tests type into it and read the screen.
 */
export class TmuxSession {
  private constructor(private readonly dir: string) {}

  private get socket(): string {
    return path.join(this.dir, 'socket');
  }

  /** Written by the pane's shell when the program ends (tmux's #{pane_dead_status} is not always filled in). */
  private get exitFile(): string {
    return path.join(this.dir, 'exit-code');
  }

  static async start(argv: string[], opts: { cwd: string; width?: number; height?: number }): Promise<TmuxSession> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-tmux-'));
    const s = new TmuxSession(dir);
    const recordExit = 'f=$1; shift; "$@"; echo $? > "$f"';
    await s.tmux(
      'start-server',
      ';',
      'set-option',
      '-g',
      'remain-on-exit',
      'on',
      ';',
      'set-option',
      '-g',
      'history-limit',
      '50000',
      ';',
      'new-session',
      '-d',
      '-s',
      'main',
      '-c',
      opts.cwd,
      '-x',
      String(opts.width ?? 200),
      '-y',
      String(opts.height ?? 50),
      'sh',
      '-c',
      recordExit,
      'sh',
      s.exitFile,
      ...argv,
    );
    return s;
  }

  private async tmux(...args: string[]): Promise<string> {
    const r = await execa('tmux', ['-S', this.socket, '-f', '/dev/null', ...args], { reject: false });
    if (r.exitCode !== 0) throw new Error(`tmux ${args[0]} failed (${r.exitCode}): ${r.stderr}`);
    return r.stdout;
  }

  /** The visible screen. */
  screen(): Promise<string> {
    return this.tmux('capture-pane', '-p', '-t', 'main');
  }

  /** Everything the program wrote, scrollback included. */
  transcript(): Promise<string> {
    return this.tmux('capture-pane', '-p', '-J', '-t', 'main', '-S', '-');
  }

  /** Keys as tmux names them: 'Down', 'Enter', 'y', 'C-c'. */
  async send(...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', 'main', ...keys);
  }

  /** Polls the screen until `test` accepts it. */
  async waitForScreen(what: string, test: (screen: string) => boolean, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      last = await this.screen();
      if (test(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the screen:\n${last}`);
  }

  /** Waits for the program to end; its exit status. */
  async exitCode(timeoutMs = 120_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const code = existsSync(this.exitFile) ? readFileSync(this.exitFile, 'utf8').trim() : '';
      if (code) return Number(code);
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the program in tmux did not end within ${timeoutMs} ms; the screen:\n${await this.screen()}`);
  }

  async close(): Promise<void> {
    await this.tmux('kill-server').catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}
