import { execFileSync } from 'node:child_process';
import type { RemoteHost } from '../remote/ssh.js';
import { currentOperator } from './operator.js';
import { HistoryStore, type HistoryRecord, type RecordStatus } from './records.js';
import { stateDirFor } from './paths.js';
import { redact } from '../kernel/redact.js';

/** The operators' repository commit the config comes from (frozen into the record). */
export function repoCommit(dir: string): string | null {
  try {
    const sha = execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    })
      .toString()
      .trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return null;
  }
}

/**
 * One operation's history record: started as `pending`, then every fact
 * learnt appended, then one final status. Kept on the target host, which
 * names it and stamps its times by its own clock.
 */
export class OperationRecord {
  /** Named by the host when the record starts. */
  id = '';
  private readonly store: HistoryStore;
  private fields: Record<string, unknown> = {};
  private transitions: HistoryRecord['transitions'] = [];
  status: RecordStatus = 'pending';
  startedAt = '';
  finishedAt: string | null = null;

  constructor(
    private readonly remote: RemoteHost,
    private readonly stateDir: string,
    readonly service: string,
    readonly env: string,
    readonly operation: string,
  ) {
    this.store = new HistoryStore(remote, stateDir);
  }

  async start(fields: Record<string, unknown>): Promise<void> {
    const op = currentOperator();
    this.fields = {
      service: this.service,
      env: this.env,
      operation: this.operation,
      operator: op.name,
      operators: [op.name],
      from: null,
      to: null,
      backupId: null,
      promotedFrom: null,
      ...fields,
    };
    const { id, at } = await this.store.append(
      this.service,
      this.env,
      { operation: this.operation },
      { status: 'pending', fields: this.fields },
    );
    this.id = id;
    this.startedAt = at;
    this.transitions.push({ status: 'pending', at });
  }

  async note(fields: Record<string, unknown>): Promise<void> {
    Object.assign(this.fields, fields);
    await this.store.append(this.service, this.env, this.id, { fields });
  }

  async finish(
    status: Exclude<RecordStatus, 'pending' | 'interrupted'>,
    note: string,
    fields: Record<string, unknown> = {},
  ): Promise<void> {
    Object.assign(this.fields, fields);
    this.status = status;
    const { at } = await this.store.append(this.service, this.env, this.id, { status, note, fields });
    this.finishedAt = at;
    this.transitions.push({ status, at, note });
  }

  /** Keeps the operation's full log next to the record, for every operator to read. */
  async attachLog(text: string): Promise<string> {
    const dir = `${stateDirFor(this.stateDir, this.service, this.env)}/logs`;
    await this.remote.exec(['sh', '-c', 'umask 077; mkdir -p "$1" && cat > "$1/$2.log"', 'coopctl-log', dir, this.id], {
      mutates: true,
      stdin: redact(text),
    });
    return `${this.remote.target.name}:${dir}/${this.id}.log`;
  }

  /** The record as `history --json` shows it. */
  document(): HistoryRecord {
    const f = this.fields as Record<string, never>;
    const { service, env, operation, from, to, operator, operators, backupId, promotedFrom, message, ...details } = f;
    return {
      id: this.id,
      service,
      env,
      operation,
      from: from ?? null,
      to: to ?? null,
      status: this.status,
      operator,
      operators: operators ?? [operator],
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      backupId: backupId ?? null,
      promotedFrom: promotedFrom ?? null,
      ...(message ? { message } : {}),
      transitions: this.transitions,
      details,
    };
  }
}
