/**
 * A pipeline is a list of stages run in order; the first that throws stops
 * it. The core decides which stages run and what happens after a failure;
 * a StageRunner only shows them (listr2 on a terminal, plain lines in logs,
 * silence under --json).
 */
export interface StageContext {
  signal: AbortSignal;
  /** A line of live output under the stage (an Ansible task, a check). */
  report(line: string): void;
  /** Replaces the stage's title (e.g. with byte progress). */
  title(text: string): void;
}

export interface Stage {
  id: string;
  title: string;
  /** Changes something on a host: shown as such in the plan, skipped under --dry-run. */
  mutates: boolean;
  /** Returns a short summary shown when the stage completes. */
  run(ctx: StageContext): Promise<string | undefined>;
}

export interface StageRunner {
  run(stages: readonly Stage[], signal: AbortSignal): Promise<void>;
}

/** Plain output: one line per stage and per report (CI logs, tests). */
export class LineStageRunner implements StageRunner {
  constructor(private readonly write: (line: string) => void) {}

  async run(stages: readonly Stage[], signal: AbortSignal): Promise<void> {
    for (const s of stages) {
      let title = s.title;
      this.write(`→ ${title}`);
      const started = Date.now();
      try {
        const summary = await s.run({ signal, report: (l) => this.write(`    ${l}`), title: (t) => (title = t) });
        this.write(`✓ ${title}${summary ? `: ${summary}` : ''} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
      } catch (err) {
        this.write(`✗ ${title}: ${(err as Error).message.split('\n')[0]}`);
        throw err;
      }
    }
  }
}
