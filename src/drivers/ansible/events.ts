import { z } from 'zod';

/** Events written by playbooks/callback_plugins/coopctl_jsonl.py, one JSON object per line. */
const ansibleEventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('playbook_start'), time: z.string(), playbook: z.string() }),
  z.object({ event: z.literal('play_start'), time: z.string(), play: z.string(), check_mode: z.boolean().optional() }),
  z.object({
    event: z.literal('task_start'),
    time: z.string(),
    task: z.string(),
    id: z.string(),
    action: z.string().optional(),
    handler: z.boolean().optional(),
  }),
  z.object({
    event: z.literal('task_result'),
    time: z.string(),
    host: z.string(),
    task: z.string(),
    id: z.string(),
    status: z.enum(['ok', 'failed', 'skipped', 'unreachable']),
    changed: z.boolean(),
    msg: z.string().optional(),
    rc: z.number().nullable().optional(),
    stderr: z.string().nullable().optional(),
    stdout: z.string().nullable().optional(),
    ignored: z.boolean().nullable().optional(),
  }),
  z.object({
    event: z.literal('stats'),
    time: z.string(),
    hosts: z.record(
      z.string(),
      z
        .object({
          ok: z.number(),
          changed: z.number(),
          failed: z.number(),
          unreachable: z.number(),
          skipped: z.number(),
        })
        .loose(),
    ),
  }),
]);
export type AnsibleEvent = z.infer<typeof ansibleEventSchema>;
export type TaskResultEvent = Extract<AnsibleEvent, { event: 'task_result' }>;
export type StatsEvent = Extract<AnsibleEvent, { event: 'stats' }>;

/**
 * Modules that only read or decide: nothing on the host changes while a play runs only these. A play that failed
 * before its first other task (an assert, a lookup that failed while its arguments were templated) changed nothing.
 */
const READ_ONLY_ACTIONS = new Set([
  'assert',
  'fail',
  'debug',
  'set_fact',
  'include_vars',
  'setup',
  'gather_facts',
  'stat',
  'ping',
  'meta',
  'validate_argument_spec',
  'package_facts',
  'service_facts',
]);

export function readOnlyAction(action: string | undefined): boolean {
  return !!action && READ_ONLY_ACTIONS.has(action.replace(/^ansible\.(builtin|legacy)\./, ''));
}

function parseEventLine(line: string): AnsibleEvent | undefined {
  if (!line.trim()) return undefined;
  try {
    const r = ansibleEventSchema.safeParse(JSON.parse(line));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Follows an append-only events file while a process writes it; lines are handed over whole. */
export class EventsTail {
  private offset = 0;
  private partial = '';
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly file: string,
    private readonly onEvent: (e: AnsibleEvent) => void,
  ) {}

  async poll(): Promise<void> {
    const { open } = await import('node:fs/promises');
    let fh;
    try {
      fh = await open(this.file, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        this.partial += buf.subarray(0, bytesRead).toString('utf8');
        let i;
        while ((i = this.partial.indexOf('\n')) >= 0) {
          const e = parseEventLine(this.partial.slice(0, i));
          this.partial = this.partial.slice(i + 1);
          if (e) this.onEvent(e);
        }
      }
    } finally {
      await fh.close();
    }
  }

  start(intervalMs = 150): void {
    const tick = () => {
      this.poll().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, intervalMs);
      });
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.poll();
  }
}
