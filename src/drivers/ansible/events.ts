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

function readOnlyAction(action: string | undefined): boolean {
  return !!action && READ_ONLY_ACTIONS.has(action.replace(/^ansible\.(builtin|legacy)\./, ''));
}

function parseEventLine(line: string): AnsibleEvent | 'unreadable' | undefined {
  if (!line.trim()) return undefined;
  try {
    const r = ansibleEventSchema.safeParse(JSON.parse(line));
    return r.success ? r.data : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/**
 * What a playbook run's events tell, and whether they tell all of it. Ansible runs on without its callback when
 * the callback cannot load ("Skipping callback ..., unable to load", ansible-core 2.14
 * lib/ansible/executor/task_queue_manager.py:252) or when one of its methods fails ("Failure using method ... in
 * callback plugin", same file, send_callback): then events are missing, and what the run changed is unknown.
 */
export class PlaybookLedger {
  tasks = 0;
  readonly failures: TaskResultEvent[] = [];
  readonly changed = new Set<string>();
  stats?: StatsEvent['hosts'];
  private started = false;
  private touching = false;
  private unreadable?: string;

  add(e: AnsibleEvent): void {
    if (e.event === 'playbook_start') this.started = true;
    if (e.event === 'task_start') {
      this.tasks++;
      if (!readOnlyAction(e.action)) this.touching = true;
    }
    if (e.event === 'task_result') {
      if (e.status === 'failed' && !e.ignored) this.failures.push(e);
      if (e.changed) this.changed.add(e.task);
    }
    if (e.event === 'stats') this.stats = e.hosts;
  }

  /** Part of the events could not be read (a line that is not an event, a file that cannot be read). */
  spoilt(why: string): void {
    this.unreadable ??= why;
  }

  /** Why the events do not tell the whole run (from the playbook's start to its stats), if they do not. */
  get gap(): string | undefined {
    if (this.unreadable) return `its events are unreadable (${this.unreadable})`;
    if (!this.started) return 'its events are missing (the coopctl_jsonl callback reported nothing)';
    if (!this.stats) return 'its events stop before the end of the run';
    return undefined;
  }

  /** Every event arrived, no task reported a change and none but read-only ones started: the host is as it was. */
  get untouched(): boolean {
    return !this.gap && !this.touching && this.changed.size === 0;
  }

  /** The events are readable and show the playbook started no task (a strategy that broke before its first). */
  get noTaskStarted(): boolean {
    return this.started && !this.unreadable && this.tasks === 0;
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
    /** A line that is not an event, or a file that cannot be read (one that does not exist yet is not that). */
    private readonly onUnreadable: (why: string) => void = () => {},
  ) {}

  async poll(): Promise<void> {
    const { open } = await import('node:fs/promises');
    let fh;
    try {
      fh = await open(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onUnreadable((err as Error).message);
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
          const line = this.partial.slice(0, i);
          const e = parseEventLine(line);
          this.partial = this.partial.slice(i + 1);
          if (e === 'unreadable') this.onUnreadable(`not an event: ${line.slice(0, 80)}`);
          else if (e) this.onEvent(e);
        }
      }
    } catch (err) {
      this.onUnreadable((err as Error).message);
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

  /** Reads what is left; a last line without its newline was cut short. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.poll();
    if (this.partial.trim()) this.onUnreadable('its last line was cut short');
  }
}
