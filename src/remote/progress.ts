/**
 * The progress of a long data command (a dump, an upload, a restore test, a restore). Such a command is not bounded
 * by a wall clock (ssh.commandTimeout): a database of tens of GB takes hours, and it was cut off while it worked.
 * It is stopped only when it has stalled: no measure of its work has changed for ssh.stallTimeout. What a measure
 * is, is the caller's to say truthfully (the bytes a host script reports it has written or read, the counters of
 * the PostgreSQL server doing a restore); only a change counts, so a command that reports the same count every
 * second is not moving.
 */
export class ProgressWatch {
  private seen: string | undefined;
  private changedAt: number;

  constructor(private readonly now: () => number = Date.now) {
    this.changedAt = now();
  }

  /** A measure of the work done so far (bytes, a signature of server counters). */
  saw(measure: number | string): void {
    const m = String(measure);
    if (m === this.seen) return;
    this.seen = m;
    this.changedAt = this.now();
  }

  /** How long no measure has changed (since the watch began, before the first one). */
  idleMs(): number {
    return this.now() - this.changedAt;
  }
}

/** What the message of a stalled command says. */
export function stalledText(idleMs: number): string {
  return `no progress for ${Math.round(idleMs / 1000)}s (ssh.stallTimeout)`;
}
