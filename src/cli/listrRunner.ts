import { Listr, ListrLogger, ProcessOutput } from 'listr2';
import type { Stage, StageRunner } from '../pipeline/stages.js';
import type { IO } from '../kernel/io.js';
import { redact } from '../kernel/redact.js';

/**
 * Shows a pipeline as a live listr2 task list on stderr (stdout stays for
 * data). Without a terminal it falls back to listr2's line renderer; under
 * --json it is silent. Signals are ours, not listr2's (it would exit 127).
 */
export class ListrStageRunner implements StageRunner {
  constructor(
    private readonly io: IO,
    private readonly mode: 'live' | 'lines' | 'silent',
  ) {}

  async run(stages: readonly Stage[], signal: AbortSignal): Promise<void> {
    const logger = new ListrLogger({
      processOutput: new ProcessOutput(this.io.stderr as NodeJS.WriteStream, this.io.stderr as NodeJS.WriteStream),
    });
    const list = new Listr(
      stages.map((s) => ({
        title: s.title,
        task: async (_: unknown, task: { title: string; output: string }) => {
          const started = Date.now();
          const summary = await s.run({
            signal,
            report: (line) => {
              task.output = redact(line);
            },
            title: (text) => {
              task.title = redact(text);
            },
          });
          const secs = ((Date.now() - started) / 1000).toFixed(1);
          task.title = redact(`${task.title}${summary ? ` — ${summary}` : ''} (${secs}s)`);
        },
        rendererOptions: { outputBar: 6, persistentOutput: false },
      })),
      {
        concurrent: false,
        exitOnError: true,
        registerSignalListeners: false,
        renderer: this.mode === 'live' ? 'default' : this.mode === 'lines' ? 'simple' : 'silent',
        fallbackRenderer: 'simple',
        rendererOptions: { logger, collapseErrors: false },
        fallbackRendererOptions: { logger },
      } as never, // listr2's option types are generic over the renderer chosen at run time
    );
    await list.run();
  }
}
