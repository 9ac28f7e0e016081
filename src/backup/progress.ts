import { formatBytes } from '../kernel/validate.js';

/**
 * Byte progress for the task list. The library reports often; the throttle
 * keeps callbacks to a few per second (plus the final one of each phase).
 */
export type BackupPhase = 'inspect' | 'secrets' | 'dump' | 'volume' | 'upload' | 'download' | 'restore' | 'check';

export interface Progress {
  phase: BackupPhase;
  bytes: number;
  totalBytes?: number;
}

export type ProgressListener = (p: Progress) => void;

export function throttled(
  listener: ProgressListener | undefined,
  phase: BackupPhase,
  totalBytes?: number,
  intervalMs = 200,
) {
  let last = 0;
  return {
    update(bytes: number): void {
      if (!listener) return;
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
      listener({ phase, bytes, totalBytes });
    },
    done(bytes: number): void {
      listener?.({ phase, bytes, totalBytes });
    },
  };
}

const PHASE_LABEL: Record<BackupPhase, string> = {
  inspect: 'inspecting the database',
  secrets: 'secrets file',
  dump: 'dump',
  volume: 'volume archive',
  upload: 'encrypted to the store',
  download: 'reading back',
  restore: 'restoring',
  check: 'checking row counts',
};

/**
 * "dump 120.3 MiB at 45.2 MiB/s", "restoring 40% of 213.0 MiB at 80.1 MiB/s":
 * one line for a task list's output; throughput since the phase began.
 */
export function progressText(now: () => number = Date.now): (p: Progress) => string {
  const began = new Map<BackupPhase, number>();
  return (p) => {
    if (!began.has(p.phase)) began.set(p.phase, now());
    const label = PHASE_LABEL[p.phase];
    if (p.bytes === 0 && !p.totalBytes) return label;
    const secs = (now() - began.get(p.phase)!) / 1000;
    const rate = secs > 0.2 ? ` at ${formatBytes(p.bytes / secs)}/s` : '';
    const amount = p.totalBytes
      ? `${Math.floor((100 * p.bytes) / Math.max(1, p.totalBytes))}% of ${formatBytes(p.totalBytes)}`
      : formatBytes(p.bytes);
    return `${label} ${amount}${rate}`;
  };
}
